package org.splitlora.datasets.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.parquet.ShardSchema;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.source.JsonlStyle;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.source.TextMode;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;
import org.splitlora.datasets.tokenize.TokenizerSpec;

/** JSONL styles and field names, gzip, directories of files, and plain text by line or packed. */
class PrepareFormatsTest {

    static SparkSession spark;
    static final Gpt2BpeTokenizer BPE = new Gpt2BpeTokenizer();

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = PrepareTestSupport.spark();
    }

    private Manifest run(String input, SourceOptions source, PartitionSpec partition, int maxLength) throws IOException {
        return new DatasetPreparer(spark).run(
                PrepareOptions.builder(input, source, partition, tmp.resolve("out").toString())
                        .maxLength(maxLength).build(),
                TokenizerSpec.gpt2Bpe()).manifest();
    }

    private List<TokenizedExample> trainRows() {
        return spark.read().parquet(tmp.resolve("out/train").toString()).orderBy(ShardSchema.EXAMPLE_ID)
                .collectAsList().stream().map(ShardSchema::example).toList();
    }

    private static void gzip(Path file, String content) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void jsonlStylesBecomeThePromptsAUserExpects() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("in"));
        // Two files in one directory, one of them gzipped: read in name order.
        Files.writeString(dir.resolve("a.jsonl"), """
                {"question": "Capital of France?", "answer": "Paris", "topic": "geo"}
                {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5", "topic": "math"}
                """);
        gzip(dir.resolve("b.jsonl.gz"), """
                {"instruction": "Say hi.", "output": "Hi!", "topic": "chat"}
                {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"}], "topic": "chat"}
                {"text": "Just text.", "topic": "lm"}
                """);
        SourceOptions source = new SourceOptions(SourceFormat.JSONL, "topic", JsonlStyle.AUTO,
                Map.of("prompt", "question", "completion", "answer"), null);
        Manifest m = run(dir.toString(), source, PartitionSpec.iid(1, 3), 256);
        assertEquals(2, m.sources.get("train").files);
        List<TokenizedExample> rows = trainRows();
        assertEquals(5, rows.size());
        assertEncodes(PromptCompletionFormat.encode(BPE, 0, "Capital of France?", "Paris"), rows.get(0));
        assertEncodes(PromptCompletionFormat.encode(BPE, 1, "Below is an instruction that describes a task, paired with an input "
                + "that provides further context. Write a response that appropriately completes the request.\n\n"
                + "### Instruction:\nAdd the numbers.\n\n### Input:\n2 and 3\n\n### Response:", "5"), rows.get(1));
        assertEncodes(PromptCompletionFormat.encode(BPE, 2, "Below is an instruction that describes a task. Write a response "
                + "that appropriately completes the request.\n\n### Instruction:\nSay hi.\n\n### Response:", "Hi!"), rows.get(2));
        assertEncodes(PromptCompletionFormat.encode(BPE, 3, "system: Be brief.\nuser: Hello\nassistant:", "Hi there"), rows.get(3));
        int[] text = BPE.encode("Just text.", true);
        int[] lm = java.util.Arrays.copyOf(text, text.length + 1);
        lm[text.length] = BPE.eosTokenId();
        assertArrayEquals(lm, rows.get(4).inputIds());
        assertEquals(lm.length, rows.get(4).targetCount() + 1, "every token after the first is a target");
        List<String> labels = spark.read().parquet(tmp.resolve("out/train").toString()).orderBy(ShardSchema.EXAMPLE_ID)
                .select(ShardSchema.LABEL).collectAsList().stream().map(r -> r.getString(0)).toList();
        assertEquals(List.of("geo", "math", "chat", "chat", "lm"), labels);
    }

    private static void assertEncodes(TokenizedExample expected, TokenizedExample actual) {
        assertEquals(expected.exampleId(), actual.exampleId());
        assertArrayEquals(expected.inputIds(), actual.inputIds(), "ids of example " + expected.exampleId());
        assertArrayEquals(expected.lossMask(), actual.lossMask(), "mask of example " + expected.exampleId());
    }

    @Test
    void textByLinesAndPacked() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            sb.append("Line number ").append(i).append(" of a small corpus about restaurants.\n");
            if (i % 10 == 9) {
                sb.append('\n'); // blank lines are skipped
            }
        }
        Path in = tmp.resolve("corpus.txt");
        Files.writeString(in, sb.toString());
        SourceOptions lines = new SourceOptions(SourceFormat.TEXT, null, null, null, TextMode.LINES);
        Manifest byLine = run(in.toString(), lines, PartitionSpec.iid(2, 1), 64);
        assertEquals(40, byLine.sources.get("train").records);
        long totalTokens = byLine.clients.stream().mapToLong(c -> c.tokens).sum();

        SourceOptions packed = new SourceOptions(SourceFormat.TEXT, null, null, null, TextMode.PACKED);
        Path out = tmp.resolve("out");
        try (var s = Files.walk(out)) {
            s.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
        }
        Manifest m = run(in.toString(), packed, PartitionSpec.iid(2, 1), 50);
        List<Row> rows = spark.read().parquet(out.resolve("train").toString()).collectAsList();
        assertTrue(rows.stream().allMatch(r -> r.getInt(r.fieldIndex(ShardSchema.LENGTH)) == 50));
        long blocks = rows.size();
        // Packing keeps every token (the same line + EOS stream as by line) except the dropped tail.
        assertEquals(totalTokens, blocks * 50 + m.sources.get("train").droppedTailTokens);
        assertTrue(m.sources.get("train").droppedTailTokens < 50);
    }

    @Test
    void labelDirichletOnAJsonlField() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            sb.append("{\"prompt\": \"q").append(i).append("\", \"completion\": \"a\", \"topic\": \"t")
                    .append(i % 3).append("\"}\n");
        }
        Path in = tmp.resolve("topics.jsonl");
        Files.writeString(in, sb.toString());
        SourceOptions source = new SourceOptions(SourceFormat.JSONL, "topic", null, null, null);
        Manifest m = run(in.toString(), source,
                new PartitionSpec(PartitionMethod.DIRICHLET, 4, 0.5, 10, 5, 1000, 11), 64);
        assertEquals(List.of("t0", "t1", "t2"), m.partition.classes);
        assertEquals(300, m.clients.stream().mapToLong(c -> c.examples).sum());
        assertTrue(m.clients.stream().allMatch(c -> c.examples >= 5));
        for (Manifest.ClientStats c : m.clients) {
            assertEquals(c.examples, c.labelCounts.values().stream().mapToLong(Long::longValue).sum());
        }
    }
}
