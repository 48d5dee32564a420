package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.splitlora.store.RunStore;
import org.splitlora.testutil.Fixtures;
import org.splitlora.testutil.Hdfs;
import org.splitlora.testutil.SyntheticShards;
import org.splitlora.util.KillPoint;

/**
 * {@code train} killed (the JVM halted as by SIGKILL: no hooks, no finally) at each point where a
 * run's state is between two writes, then {@code train --resume}: the per-round losses and the
 * final adapter equal the uninterrupted run's bit for bit, on local disk and on HDFS (data, model
 * and run directory all on {@code hdfs://}).
 */
@Tag("slow")
@Tag("fixtures")
class FaultInjectionTest {

    private static final int ROUNDS = 3;
    private static Path tmp;
    private static Hdfs hdfs;
    private static String localData;
    private static String hdfsData;
    private static String hdfsModel;
    private static List<String> referenceLosses;
    private static byte[] referenceAdapter;

    @BeforeAll
    static void setUp() throws Exception {
        tmp = Files.createTempDirectory("splitlora-faults");
        hdfs = Hdfs.start(tmp.resolve("hdfs"));
        localData = SyntheticShards.prepare(tmp, 90, 5, 2, Fixtures.tinyGpt2().toString()).toString();
        FileSystem fs = hdfs.fileSystem();
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(localData), new org.apache.hadoop.fs.Path("/data"));
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(Fixtures.tinyGpt2().toString()), new org.apache.hadoop.fs.Path("/models/tiny-gpt2"));
        hdfsData = hdfs.uri("/data");
        hdfsModel = hdfs.uri("/models/tiny-gpt2");

        Path whole = tmp.resolve("uninterrupted");
        CliRun ref = CliRun.of(args(whole.toString(), Fixtures.tinyGpt2().toString(), localData));
        assertEquals(0, ref.code(), ref.err());
        referenceLosses = losses(RunStore.at(whole));
        referenceAdapter = Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors"));
    }

    @AfterAll
    static void tearDown() {
        if (hdfs != null) {
            hdfs.close();
        }
    }

    /** Each point, with the occurrence that falls in round 2 (of 3) where it repeats. */
    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({
            "train.before-round-1, local", "train.before-round-1, hdfs",
            "client.step#5, local", "client.step#5, hdfs",
            "metrics.written#2, local", "metrics.written#2, hdfs",
            "file.before-rename#6, local", "file.before-rename#6, hdfs",
            "publish.staged#4, local", "publish.staged#4, hdfs",
            "publish.between-renames#1, local", "publish.between-renames#1, hdfs",
            "export.between-adapters#2, local", "export.between-adapters#2, hdfs",
            "report.written#2, local", "report.written#2, hdfs",
            "checkpoint.before-marker#2, local", "checkpoint.before-marker#2, hdfs",
            "checkpoint.after-marker#2, local", "checkpoint.after-marker#2, hdfs",
            "round.end#2, local", "round.end#2, hdfs"})
    void aRunKilledAtThisPointResumesToTheUninterruptedRun(String point, String fs) throws Exception {
        boolean onHdfs = fs.equals("hdfs");
        String name = "killed-" + point.replaceAll("[^a-z0-9]+", "-");
        String out = onHdfs ? hdfs.uri("/runs/" + name) : tmp.resolve(name).toString();
        List<String> cmd = new ArrayList<>(ChildJvm.command(args(out, onHdfs ? hdfsModel : Fixtures.tinyGpt2().toString(),
                onHdfs ? hdfsData : localData)));
        cmd.add(1, "-D" + KillPoint.PROPERTY + "=" + point);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), point + ": the child did not end");
        String log = Files.readString(tmp.resolve(name + ".log"));
        assertEquals(137, p.exitValue(), point + " was never reached:\n" + log);
        assertTrue(log.contains("killed at " + point), log);

        CliRun resumed = CliRun.of("train", "--resume", out);
        assertEquals(0, resumed.code(), point + ": " + resumed.err());
        RunStore run = RunStore.at(out, new Configuration());
        assertEquals(referenceLosses, losses(run), point + ": per-round losses");
        java.nio.file.Path adapter = tmp.resolve(name + "-adapter.safetensors");
        run.copyToLocal("adapter/adapter_model.safetensors", adapter);
        assertArrayEquals(referenceAdapter, Files.readAllBytes(adapter), point + ": final adapter");
        for (String entry : run.list("")) {
            assertTrue(!entry.startsWith(".") && !entry.equals("run.lock"), point + ": left " + entry);
        }
    }

    @org.junit.jupiter.api.Test
    void aSecondTrainWhileAnotherProcessTrainsIsRefusedAndAKilledHolderIsTakenOver() throws Exception {
        Path out = tmp.resolve("contended");
        List<String> cmd = new ArrayList<>(ChildJvm.command(args(out.toString(), Fixtures.tinyGpt2().toString(), localData)));
        cmd.addAll(List.of("--set", "clients.speed=[0.05, 0.05]")); // 20x slower steps: the first run is still going
        Process first = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("contended.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (!Files.readString(tmp.resolve("contended.log")).contains("train: sfl")) {
                assertTrue(first.isAlive() && System.nanoTime() < deadline, Files.readString(tmp.resolve("contended.log")));
                Thread.sleep(200);
            }
            long t0 = System.nanoTime();
            CliRun second = CliRun.of(args(out.toString(), Fixtures.tinyGpt2().toString(), localData));
            assertEquals(1, second.code());
            assertTrue(second.err().contains("is in use by train (pid " + first.pid() + " on "), second.err());
            assertTrue((System.nanoTime() - t0) / 1e9 < 10, "refused at once");
            assertTrue(first.isAlive(), "the first run goes on");
        } finally {
            first.destroyForcibly().waitFor();
        }
        CliRun resumed = CliRun.of("train", "--resume", out.toString());
        assertEquals(0, resumed.code(), "the dead holder's lock is taken over: " + resumed.err());
    }

    private static String[] args(String out, String model, String data) {
        List<String> a = new ArrayList<>(List.of("train", "--set", "out=" + out, "--set", "model=" + model, "--set", "data.dir=" + data,
                "--set", "mode=sfl", "--set", "split.cut=2", "--set", "train.rounds=" + ROUNDS, "--set", "train.localSteps=2",
                "--set", "train.batchSize=4", "--set", "train.microBatchSize=2", "--set", "lora.targets=[q,v]",
                "--set", "lora.rank=4", "--set", "data.maxValidExamples=8", "--set", "optimizer.warmupSteps=1",
                "--set", "train.evalEvery=1"));
        return a.toArray(String[]::new);
    }

    /** Each round's training and validation loss as written (the exact decimal text). */
    private static List<String> losses(RunStore run) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : run.readText("metrics.jsonl").orElseThrow().split("\n")) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            out.add(o.get("round") + " " + o.get("train_loss") + " " + o.get("val_loss"));
        }
        return out;
    }
}
