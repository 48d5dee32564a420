package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.testutil.Fixtures;

/** {@code prepare} as a user runs it: output, exit codes, one-line errors, reproducible bytes across JVMs. */
class PrepareCliTest {

    @TempDir
    Path tmp;


    private static String devset() {
        return Fixtures.shared().resolve("e2e/devset.csv").toString();
    }

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

    @Test
    void helpListsTheOptions() {
        CliRun r = CliRun.of("prepare", "--help");
        assertEquals(0, r.code());
        for (String option : List.of("--input", "--format", "--tokenizer", "--clients", "--partition", "--alpha",
                "--label-field", "--min-examples", "--valid-input", "--valid-fraction", "--test-input", "--max-length",
                "--overlong", "--on-bad-row", "--jsonl-style", "--field", "--text-mode", "--out", "--overwrite")) {
            assertTrue(r.out().contains(option), option);
        }
    }

    /**
     * Two JVMs, same seed: byte-identical shards and manifest. (Within one JVM this would hold even
     * without canonical Parquet footers, since enum hash codes only differ between JVMs.)
     */
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

    private static List<Path> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith("."))
                    .sorted().toList();
        }
    }
}
