package org.splitlora.datasets.prepare;

import static org.apache.spark.sql.functions.max;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.tokenize.TokenizerSpec;

/**
 * Bad input gives a clear error naming the file and line, or a counted reject, and never leaves
 * an output directory behind that looks complete.
 */
class PrepareBadInputTest {

    static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = PrepareTestSupport.spark();
    }

    private static final String GOOD_ROWS = """
            "name[The Eagle], eatType[pub]",The Eagle is a pub.
            "name[Aromi], eatType[coffee shop]",Aromi is a coffee shop.
            "name[Zizzi], eatType[pub], area[riverside]",Zizzi is a pub by the river.
            "name[Cotto], eatType[restaurant]",Cotto is a restaurant.
            """;

    private Path file(String name, String content) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    private PrepareOptions.Builder options(Path input, SourceFormat format, int clients) {
        return PrepareOptions.builder(input.toString(), SourceOptions.of(format), PartitionSpec.iid(clients, 1),
                tmp.resolve("out").toString());
    }

    private Manifest run(PrepareOptions o) throws IOException {
        return new DatasetPreparer(spark).run(o, TokenizerSpec.gpt2Bpe()).manifest();
    }

    /** The run failed with a message naming {@code where}, and left neither the output nor a temp directory. */
    private void assertFailsCleanly(PrepareOptions o, String... expected) throws IOException {
        Exception e = assertThrows(IllegalArgumentException.class, () -> run(o));
        for (String s : expected) {
            assertTrue(e.getMessage().contains(s), "message '" + e.getMessage() + "' should contain '" + s + "'");
        }
        assertFalse(Files.exists(tmp.resolve("out")), "no output directory after a failure");
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".incomplete")), "temp directory removed");
        }
    }

    @Test
    void missingColumnNamesTheFileAndTheColumn() throws IOException {
        Path in = file("nocol.csv", "mr,text\n" + GOOD_ROWS);
        assertFailsCleanly(options(in, SourceFormat.E2E, 2).build(), "nocol.csv:1", "missing column 'ref'");
    }

    @Test
    void malformedCsvQuotingNamesTheLine() throws IOException {
        Path in = file("quotes.csv", "mr,ref\n" + GOOD_ROWS + "\"name[Bad]\" oops,text\n");
        assertFailsCleanly(options(in, SourceFormat.E2E, 2).build(), "quotes.csv:6", "malformed CSV");
    }

    @Test
    void wrongFieldCountIsABadRow() throws IOException {
        Path in = file("short.csv", "mr,ref\n" + GOOD_ROWS + "only-one-field\n");
        assertFailsCleanly(options(in, SourceFormat.E2E, 2).build(), "short.csv:6", "expected 2 fields, found 1");
        Manifest m = run(options(in, SourceFormat.E2E, 2).badRows(BadRowPolicy.SKIP).build());
        assertEquals(1, m.rejects.total);
        assertEquals(4, m.sources.get("train").examples);
    }

    @Test
    void invalidJsonLineFailsOrIsCountedAndListed() throws IOException {
        Path in = file("data.jsonl", """
                {"prompt": "a", "completion": "b"}
                {"prompt": "c", "completion": "d"}
                {"prompt": "e", "completion":
                {"prompt": "g", "completion": "h"}
                ["not", "an", "object"]
                {"prompt": "i"}
                """);
        assertFailsCleanly(options(in, SourceFormat.JSONL, 1).build(), "data.jsonl:3", "invalid JSON");
        Manifest m = run(options(in, SourceFormat.JSONL, 1).badRows(BadRowPolicy.SKIP).build());
        assertEquals(6, m.sources.get("train").records);
        assertEquals(3, m.rejects.total);
        assertEquals(3, m.clients.get(0).examples);
        assertEquals(3, m.rejects.first.size());
        assertTrue(m.rejects.first.get(0).contains("data.jsonl:3: invalid JSON"), m.rejects.first.get(0));
        assertTrue(m.rejects.first.get(1).contains("data.jsonl:5: expected a JSON object, found an array"));
        assertTrue(m.rejects.first.get(2).contains("data.jsonl:6:"), m.rejects.first.get(2));
        assertEquals(1L, m.rejects.byReason.get("invalid JSON"));
    }

    @Test
    void emptyFileIsAnError() throws IOException {
        assertFailsCleanly(options(file("empty.jsonl", ""), SourceFormat.JSONL, 1).build(), "empty.jsonl", "empty file");
        assertFailsCleanly(options(file("header.csv", "mr,ref\n"), SourceFormat.E2E, 1).build(), "header.csv", "no data rows");
    }

    @Test
    void overlongRowsAreTruncatedSkippedOrFatal() throws IOException {
        String longRef = "word ".repeat(100).strip();
        Path in = file("long.csv", "mr,ref\n" + GOOD_ROWS + "\"name[Long]\"," + longRef + "\n");
        Manifest truncated = run(options(in, SourceFormat.E2E, 1).maxLength(32).build());
        assertEquals(1, truncated.sources.get("train").truncated);
        assertEquals(5, truncated.clients.get(0).examples);
        assertEquals(32, spark.read().parquet(tmp.resolve("out/train").toString()).agg(max("length")).first().getInt(0));

        Manifest skipped = run(options(in, SourceFormat.E2E, 1).maxLength(32).overlong(OverlongPolicy.SKIP).overwrite(true).build());
        assertEquals(1, skipped.rejects.total);
        assertEquals(4, skipped.clients.get(0).examples);
        assertTrue(skipped.rejects.first.get(0).contains("long.csv:6: 10"), skipped.rejects.first.get(0));

        deleteOut();
        assertFailsCleanly(options(in, SourceFormat.E2E, 1).maxLength(32).overlong(OverlongPolicy.FAIL).build(),
                "long.csv:6", "longer than max-length 32");
    }

    @Test
    void aClientLeftEmptyIsAnError() throws IOException {
        Path in = file("few.csv", "mr,ref\n" + GOOD_ROWS);
        assertFailsCleanly(options(in, SourceFormat.E2E, 10).build(), "4 training examples", "10 clients");
        PartitionSpec tiny = new PartitionSpec(PartitionMethod.LENGTH_DIRICHLET, 3, 0.001, 2, 1, 5, 3);
        assertFailsCleanly(PrepareOptions.builder(in.toString(), SourceOptions.of(SourceFormat.E2E), tiny,
                tmp.resolve("out").toString()).build(), "min-examples", "5 draws");
    }

    @Test
    void invalidUtf8NamesTheFileAndTheLineOfTheBadByte() throws IOException {
        // Latin-1 text: 'é' is the lone byte 0xE9. Readers decode far ahead of the line they are
        // on, so the line has to come from where the decoder met the byte.
        String csv = "mr,ref\n" + GOOD_ROWS + "\"name[Two]\",Two is a pub.\n\"name[Café]\",Café is a pub.\n";
        assertFailsCleanly(options(latin1("cafe.csv", csv), SourceFormat.E2E, 1).build(),
                "cafe.csv:7: not valid UTF-8 text (byte 0xE9)");
        String jsonl = "{\"text\": \"a\"}\n".repeat(6) + "{\"text\": \"café\"}\n";
        assertFailsCleanly(options(latin1("cafe.jsonl", jsonl), SourceFormat.JSONL, 1).build(),
                "cafe.jsonl:7: not valid UTF-8 text (byte 0xE9)");
        // Blank lines count, and a bad byte far past the first read buffers still has its line.
        String text = "one\n\n" + "a line of text\n".repeat(20_000) + "café\n";
        assertFailsCleanly(options(latin1("cafe.txt", text), SourceFormat.TEXT, 1).build(),
                "cafe.txt:20003: not valid UTF-8 text (byte 0xE9)");
    }

    private Path latin1(String name, String content) throws IOException {
        return Files.write(tmp.resolve(name), content.getBytes(StandardCharsets.ISO_8859_1));
    }

    private void deleteOut() throws IOException {
        try (Stream<Path> s = Files.walk(tmp.resolve("out"))) {
            s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
    }
}
