package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.chat.ChatMessage;
import org.splitlora.datasets.chat.ChatTemplate;
import org.splitlora.datasets.format.ChatFormat;
import org.splitlora.datasets.parquet.ShardSchema;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.testutil.Fixtures;

/** {@code prepare} as a user runs it: output, exit codes, one-line errors, reproducible bytes across JVMs. */
class PrepareCliTest {

    @TempDir
    Path tmp;


    private static String devset() {
        return Fixtures.file("e2e/devset.csv").toString();
    }

    @Tag("fixtures")
    @Test
    void preparesE2EAndPrintsTheSummaryTable() {
        Path out = tmp.resolve("prepared");
        CliRun r = CliRun.of("prepare", "--input", devset(), "--format", "e2e", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "4", "--partition", "dirichlet", "--label-field", "eatType", "--alpha", "1",
                "--valid-fraction", "0.1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("client"), r.out());
        assertEquals(4, r.out().lines().filter(l -> l.matches("^[0-3] .*")).count(), r.out());
        assertTrue(r.out().contains("valid"), r.out());
        assertTrue(r.out().contains("partition dirichlet over 4 clients (seed 42, alpha 1.0)"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
        for (int c = 0; c < 4; c++) {
            assertTrue(Files.isDirectory(out.resolve("train/client_id=" + c)));
        }
    }

    @Tag("fixtures")
    @Test
    void badOptionsAndBadDataAreOneLineErrors() throws Exception {
        CliRun usage = CliRun.of("prepare", "--input", devset(), "--format", "xml", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "2", "--out", tmp.resolve("x").toString());
        assertEquals(2, usage.code());
        assertTrue(usage.err().contains("unknown format 'xml' (expected e2e, jsonl or text)"), usage.err());

        CliRun config = CliRun.of("prepare", "--input", devset(), "--format", "e2e", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "0", "--out", tmp.resolve("x").toString());
        assertEquals(1, config.code());
        assertEquals("error: clients: must be ≥ 1, got 0", config.err().strip());

        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"fine\"}\n{oops\n");
        CliRun data = CliRun.of("prepare", "--input", bad.toString(), "--format", "jsonl", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "1", "--out", tmp.resolve("x").toString());
        assertEquals(1, data.code());
        assertEquals(1, data.err().strip().lines().count(), data.err());
        assertTrue(data.err().startsWith("error: file:" + bad + ":2: invalid JSON"), data.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    /** The reported bug: {@code --out} naming the input's own directory, with --overwrite, deleted the input and exited 0. */
    @Test
    void overwriteNeverDeletesTheInput() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("data"));
        Path csv = syntheticCsv(dir.resolve("in.csv"));
        String before = Files.readString(csv);
        CliRun r = prepare(csv, dir, "--overwrite");
        assertEquals(1, r.code(), r.err());
        assertEquals("error: out: file:" + dir + " holds the input file:" + csv + "; choose another --out", r.err().strip());
        assertEquals(before, Files.readString(csv));
    }

    /** A place that cannot be written fails on one line before the data is read (not with Spark's stack dump after). */
    @Test
    void anUnwritableOutIsOneLineBeforeAnyWork() throws Exception {
        Path csv = syntheticCsv(tmp.resolve("in.csv"));
        Path file = Files.writeString(tmp.resolve("file.txt"), "mine");
        CliRun underFile = prepare(csv, file.resolve("out"));
        assertEquals(1, underFile.code());
        assertEquals(1, underFile.err().strip().lines().count(), underFile.err());
        assertTrue(underFile.err().startsWith("error: out: cannot create the staging directory .out.incomplete-"),
                underFile.err());
        assertTrue(underFile.err().contains(" in file:" + file + ": Parent path is not a directory"), underFile.err());

        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "no /proc");
        CliRun proc = prepare(csv, Path.of("/proc/splitlora-out"));
        assertEquals(1, proc.code());
        assertEquals(1, proc.err().strip().lines().count(), proc.err());
        assertTrue(proc.err().strip().endsWith(" in file:/proc (not writable?)"), proc.err());
    }

    @Test
    void invalidUtf8NamesTheFileAndLine() throws Exception {
        Path text = Files.write(tmp.resolve("latin1.txt"),
                "line\n".repeat(6).concat("café\n").getBytes(StandardCharsets.ISO_8859_1));
        CliRun r = CliRun.of("prepare", "--input", text.toString(), "--format", "text", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "1", "--out", tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertEquals("error: file:" + text + ":7: not valid UTF-8 text (byte 0xE9)", r.err().strip());
    }

    /**
     * What a failed Spark write (e.g. a full disk at the end of prepare) throws: a job failure whose
     * message embeds the task's stack trace. It prints as its cause, on one line.
     */
    @Test
    void aFailedSparkJobIsOneLine() {
        var ex = new SparkException("Job aborted due to stage failure: Task 1 in stage 6.0 failed 1 times, most recent "
                + "failure: Lost task 1.0: org.apache.spark.SparkException: [TASK_WRITE_FAILED] Task failed\n"
                + "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError\n"
                + "Driver stacktrace:\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages",
                new SparkException("[TASK_WRITE_FAILED] Task failed while writing rows to file:/data/.out.incomplete-1/train.",
                        new IOException("No space left on device")));
        assertEquals("IOException: No space left on device", SplitLoraCli.describe(ex));
    }

    @Test
    void helpListsTheOptions() {
        CliRun r = CliRun.of("prepare", "--help");
        assertEquals(0, r.code());
        for (String option : List.of("--input", "--format", "--tokenizer", "--clients", "--partition", "--alpha",
                "--label-field", "--min-examples", "--valid-input", "--valid-fraction", "--test-input", "--max-length",
                "--overlong", "--on-bad-row", "--jsonl-style", "--field", "--chat-template", "--text-mode", "--out", "--overwrite")) {
            assertTrue(r.out().contains(option), option);
        }
    }

    @Test
    void chatRowsTakeTheChatTemplateAndTheManifestNamesIt() throws Exception {
        Path in = tmp.resolve("chat.jsonl");
        Files.writeString(in, String.join("\n",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello.\"},"
                        + " {\"role\": \"user\", \"content\": \"Bye\"}, {\"role\": \"assistant\", \"content\": \"Bye!\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}]}", ""));
        Path template = Files.writeString(tmp.resolve("chatml.jinja"),
                "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}"
                        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
        Path out = tmp.resolve("chat-out");
        CliRun r = CliRun.of("prepare", "--input", in.toString(), "--format", "jsonl", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "1", "--valid-fraction", "0", "--chat-template", template.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        Manifest m = Manifest.read(FileSystem.getLocal(new Configuration()), new org.apache.hadoop.fs.Path(out.toString()));
        ChatTemplate t = ChatTemplate.fromFile(template, null);
        assertEquals(t.sha256(), m.chatTemplate.sha256);
        // both turns of the first row are targets, each with its end marker, as ChatFormat encodes them
        TokenizedExample expected = ChatFormat.encode(new Gpt2BpeTokenizer(), t, 0, List.of(
                new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello."),
                new ChatMessage("user", "Bye"), new ChatMessage("assistant", "Bye!")));
        SparkSession spark = SparkSession.builder().master("local[1]").appName("prepare chat test").getOrCreate();
        TokenizedExample first = ShardSchema.example(spark.read().parquet(out.resolve("train").toString())
                .orderBy(ShardSchema.EXAMPLE_ID).collectAsList().get(0));
        assertArrayEquals(expected.inputIds(), first.inputIds());
        assertArrayEquals(expected.lossMask(), first.lossMask());
        assertTrue(expected.targetCount() > 4, "two assistant turns");

        CliRun noTemplate = CliRun.of("prepare", "--input", in.toString(), "--format", "jsonl", "--tokenizer",
                "builtin:tiny-gpt2", "--clients", "1", "--chat-template", "model", "--out", tmp.resolve("x").toString());
        assertEquals(1, noTemplate.code(), noTemplate.err());
        assertTrue(noTemplate.err().contains("--chat-template model: builtin:tiny-gpt2 has no chat template"), noTemplate.err());
    }

    /**
     * Two JVMs, same seed: byte-identical shards and manifest. (Within one JVM this would hold even
     * without canonical Parquet footers, since enum hash codes only differ between JVMs.)
     */
    @Tag("fixtures")
    @Test
    void sameSeedInTwoJvmsGivesByteIdenticalOutput() throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        for (Path out : List.of(a, b)) {
            List<String> cmd = ChildJvm.command("prepare", "--input", devset(), "--format", "e2e", "--tokenizer",
                    "builtin:tiny-gpt2", "--clients", "3", "--partition", "length-dirichlet", "--alpha", "0.3", "--seed", "5",
                    "--master", "local[2]", "--out", out.toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve(out.getFileName() + ".log").toFile()).start();
            assertTrue(p.waitFor(240, TimeUnit.SECONDS), "prepare did not finish");
            assertEquals(0, p.exitValue(), Files.readString(tmp.resolve(out.getFileName() + ".log")));
        }
        List<Path> filesA = files(a);
        assertEquals(filesA.stream().map(a::relativize).toList(), files(b).stream().map(b::relativize).toList());
        assertTrue(filesA.stream().anyMatch(f -> f.toString().endsWith(".parquet")));
        for (Path f : filesA) {
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(b.resolve(a.relativize(f))), f.toString());
        }
    }

    private static Path syntheticCsv(Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file)) {
            SyntheticE2E.writeCsv(w, SyntheticE2E.generate(40, 3));
        }
        return file;
    }

    private static CliRun prepare(Path input, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("prepare", "--input", input.toString(), "--format", "e2e",
                "--tokenizer", "builtin:tiny-gpt2", "--clients", "2", "--out", out.toString()));
        args.addAll(List.of(more));
        return CliRun.of(args.toArray(String[]::new));
    }

    private static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith("."))
                    .sorted().toList();
        }
    }
}
