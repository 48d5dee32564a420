package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.splitlora.testutil.SyntheticShards;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.config.TrainConfig.DataVerify;
import org.splitlora.datasets.prepare.Manifest;

/**
 * Bad data and failing clients end a run within seconds with one line naming the client and the
 * file or cause, where Spark would otherwise re-run the round's barrier stage 4 times, each
 * waiting out split.stepTimeout. Synthetic E2E data on builtin:tiny-gpt2, no fixtures.
 */
class ShardCheckTest {

    private static final String STEP_TIMEOUT = "split.stepTimeout=60s";
    /** Far below one step timeout (Spark's 4 stage attempts would wait out 4): a run that waits for a client fails this. */
    private static final long PROMPT_SECONDS = 20;

    @TempDir
    static Path tmp;
    static Path prepared;
    private static int copies;

    @BeforeAll
    static void prepare() throws IOException {
        prepared = SyntheticShards.prepare(tmp, 120, 3, 3, "builtin:tiny-gpt2");
    }

    @Test
    void aMissingClientShardFailsBeforeRoundOneNamingTheClient() throws IOException {
        Path data = copy();
        deleteTree(data.resolve("train/client_id=1"));
        Run run = train(data);
        assertEquals(1, run.cli().code(), run.cli().err());
        assertTrue(run.cli().err().contains("client 1 has no data: train/client_id=1/ is missing"), run.cli().err());
        assertEquals(1, run.cli().err().lines().count(), run.cli().err());
        assertTrue(run.seconds() < PROMPT_SECONDS, "took " + run.seconds() + " s");
        assertFalse(Files.exists(run.out().resolve("metrics.jsonl")), "no round ran");
    }

    @Test
    void aShardFileReplacedByAnotherClientsFileFailsBeforeRoundOneNamingTheFile() throws IOException {
        Path data = copy();
        Path victim = partFile(data, 0);
        Files.copy(partFile(data, 2), victim, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(victim.resolveSibling("." + victim.getFileName() + ".crc")); // Hadoop's checksum of the old file
        Run run = train(data);
        assertEquals(1, run.cli().code(), run.cli().err());
        String file = data.relativize(victim).toString();
        assertTrue(run.cli().err().contains(file + " (client 0) "), run.cli().err());
        assertFalse(Files.exists(run.out().resolve("metrics.jsonl")), "no round ran");
    }

    /** data.verify = size checks the file set and sizes only: a same-size file with other content passes (README). */
    @Test
    void sizeVerificationMissesASameSizeReplacementThatHashingCatches() throws IOException {
        Path data = copy();
        Path victim = partFile(data, 1);
        byte[] bytes = Files.readAllBytes(victim);
        int at = indexOf(bytes, "parquet-mr".getBytes(StandardCharsets.US_ASCII));
        assertTrue(at >= 0, "footer has no created_by");
        bytes[at] = 'P'; // the writer's name in the footer: same size, still a valid file, other bytes
        Files.write(victim, bytes);
        Files.deleteIfExists(victim.resolveSibling("." + victim.getFileName() + ".crc"));
        Manifest manifest = ClientShards.readManifest(data.toString(), new Configuration());
        assertDoesNotThrow(() -> ShardCheck.verify(data.toString(), manifest, DataVerify.SIZE, new Configuration()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShardCheck.verify(data.toString(), manifest, DataVerify.HASH, new Configuration()));
        assertTrue(e.getMessage().contains(data.relativize(victim) + " (client 1) differs from manifest.json: sha256 "),
                e.getMessage());
    }

    @Test
    void aFileNotInTheManifestIsRefusedBecauseSparkWouldReadIt() throws IOException {
        Path data = copy();
        Files.copy(partFile(data, 0), data.resolve("train/client_id=2/part-00009.snappy.parquet"));
        Manifest manifest = ClientShards.readManifest(data.toString(), new Configuration());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShardCheck.verify(data.toString(), manifest, DataVerify.SIZE, new Configuration()));
        assertTrue(e.getMessage().contains("train/client_id=2/part-00009.snappy.parquet (client 2) is not in manifest.json"),
                e.getMessage());
    }

    @Test
    void aClientFailureThatNoRetryFixesEndsTheRunPromptlyNamingTheClient() throws IOException {
        // before its first frame of round 2: the server never sees client 1, the others wait for it
        System.setProperty(FaultInjection.FILE_GONE_PROPERTY, "2:1:0");
        Run run;
        try {
            run = train(copy());
        } finally {
            System.clearProperty(FaultInjection.FILE_GONE_PROPERTY);
        }
        assertEquals(1, run.cli().code(), run.cli().err());
        assertTrue(run.cli().err().contains("error: round 2: client 1: injected missing file"), run.cli().err());
        assertTrue(run.cli().err().contains("the round was not re-run"), run.cli().err());
        Path metrics = run.out().resolve("metrics.jsonl");
        assertEquals(1, Files.readAllLines(metrics).size(), "round 1 finished");
        double round2 = (run.endMillis() - Files.getLastModifiedTime(metrics).toMillis()) / 1e3;
        assertTrue(round2 < PROMPT_SECONDS, "round 2 took " + round2 + " s to fail");
    }

    private record Run(CliRun cli, Path out, double seconds, long endMillis) {}

    private static Run train(Path data) {
        Path out = tmp.resolve("run-" + copies++);
        List<String> args = new ArrayList<>(List.of("train"));
        for (String s : List.of("mode=sfl", "model=\"builtin:tiny-gpt2\"", "data.dir=\"" + data + "\"", "out=\"" + out + "\"",
                "split.cut=2", "train.rounds=2", "train.localSteps=2", "train.batchSize=4", "train.microBatchSize=4",
                "train.evalEvery=0", STEP_TIMEOUT)) {
            args.add("--set");
            args.add(s);
        }
        long t0 = System.nanoTime();
        CliRun r = CliRun.of(args.toArray(String[]::new));
        return new Run(r, out, (System.nanoTime() - t0) / 1e9, System.currentTimeMillis());
    }

    private static Path copy() throws IOException {
        Path to = tmp.resolve("data-" + copies++);
        FederationTest.copyTree(prepared, to);
        return to;
    }

    private static Path partFile(Path data, int client) throws IOException {
        try (Stream<Path> files = Files.list(data.resolve("train/client_id=" + client))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().findFirst().orElseThrow();
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = haystack.length - needle.length; i >= 0; i--) {
            int j = 0;
            while (j < needle.length && haystack[i + j] == needle[j]) {
                j++;
            }
            if (j == needle.length) {
                return i;
            }
        }
        return -1;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
