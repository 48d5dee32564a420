package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.federation.Checkpoint;
import org.splitlora.store.RunLock;
import org.splitlora.store.RunStore;
import org.splitlora.testutil.SyntheticShards;

/**
 * What {@code train} does with its run directory when things go wrong: a second run, a diverged
 * run, a bad evals.jsonl or a torn metrics line, a resume that changes the configuration, a
 * report written over someone's file. Built-in model and synthetic data: no fixtures.
 */
class RunDirectoryTest {

    @TempDir
    static Path tmp;
    private static Path data;

    @BeforeAll
    static void prepare() throws IOException {
        data = SyntheticShards.prepare(tmp, 90, 3, 2, "builtin:tiny-gpt2");
    }

    private static CliRun train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--set", "out=" + out, "--set", "data.dir=" + data,
                "--set", "model=builtin:tiny-gpt2", "--set", "mode=sfl", "--set", "split.cut=2", "--set", "train.rounds=2",
                "--set", "train.localSteps=2", "--set", "train.batchSize=4", "--set", "train.microBatchSize=4",
                "--set", "lora.targets=[q,v]", "--set", "lora.rank=4", "--set", "data.maxValidExamples=8",
                "--set", "optimizer.warmupSteps=1"));
        for (String e : extra) {
            a.add("--set");
            a.add(e);
        }
        return CliRun.of(a.toArray(String[]::new));
    }

    private static List<JsonObject> metrics(Path out) throws IOException {
        List<JsonObject> rounds = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            rounds.add(JsonParser.parseString(line).getAsJsonObject());
        }
        return rounds;
    }

    @Test
    void aSecondRunIntoALiveRunsDirectoryIsRefusedAtOnceNamingTheHolder() throws Exception {
        Path out = tmp.resolve("owned");
        try (RunLock other = RunLock.take(RunStore.at(out), "train")) {
            long t0 = System.nanoTime();
            CliRun second = train(out);
            assertEquals(1, second.code());
            assertTrue((System.nanoTime() - t0) / 1e9 < 20, "refused before any work");
            assertTrue(second.err().contains("is in use by train (pid " + ProcessHandle.current().pid()), second.err());
            assertEquals(1, second.err().strip().lines().count(), second.err());
            assertFalse(Files.exists(out.resolve("run.json")), "the refused run wrote nothing");
        }
        assertEquals(0, train(out).code());
        assertFalse(Files.exists(out.resolve(RunLock.FILE)), "a finished run releases the directory");
    }

    @Test
    void aDivergedRoundStopsTheRunAndKeepsTheLastGoodCheckpointAndAdapter() throws Exception {
        Path out = tmp.resolve("diverged");
        // warmup: step 0 trains at lr 0 and step 1 at 5e29, whose update makes round 2's evaluation overflow
        CliRun r = train(out, "optimizer.lr=1e30", "optimizer.warmupSteps=2", "train.localSteps=1", "train.rounds=4",
                "train.evalEvery=1");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().contains("round 2: training diverged (validation loss NaN)"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        List<JsonObject> rounds = metrics(out);
        assertEquals(1, rounds.size(), "the diverged round wrote no metrics");
        assertEquals(1, Checkpoint.latest(RunStore.at(out)).orElseThrow());
        assertTrue(Files.isDirectory(out.resolve("adapters/round-0001")) && !Files.exists(out.resolve("adapters/round-0002")));
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            assertFalse(line.contains("NaN") || line.contains("Infinity"), "strict JSON: " + line);
        }
        byte[] adapter = Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors"));
        byte[] round1 = Files.readAllBytes(out.resolve("adapters/round-0001/adapter_model.safetensors"));
        assertTrue(java.util.Arrays.equals(adapter, round1), "adapter/ is still round 1's");
    }

    @Test
    void aRunThatFailedBeforeItsFirstCheckpointIsStartedOverByResume() throws Exception {
        Path out = tmp.resolve("no-checkpoint");
        CliRun failed = train(out, "optimizer.lr=1e30", "optimizer.warmupSteps=0", "train.localSteps=4");
        assertEquals(1, failed.code());
        assertTrue(Files.exists(out.resolve("run.json")) && Checkpoint.latest(RunStore.at(out)).isEmpty());
        CliRun again = train(out);
        assertEquals(1, again.code());
        assertTrue(again.err().contains("stopped before its first checkpoint; --resume " + RunStore.at(out)
                + " starts it over from round 1"), again.err());
        CliRun resumed = CliRun.of("train", "--resume", out.toString());
        assertEquals(1, resumed.code(), "it starts over with its recorded (diverging) configuration, rather than refusing");
        assertTrue(resumed.err().contains("round 1: training diverged"), resumed.err());
    }

    @Test
    void resumeSurvivesABadEvalsLineAndATornMetricsLineAndRecordsWhatItChanged() throws Exception {
        Path out = tmp.resolve("resumed");
        assertEquals(0, train(out).code());
        List<JsonObject> two = metrics(out);
        // eval --run appended garbage while the run was stopped; a kill tore a metrics line
        Files.writeString(out.resolve("evals.jsonl"), "{\"label\": \"x\", \"loss\": 1}\nnot json\n");
        Files.writeString(out.resolve("metrics.jsonl"), "{\"round\": 3, \"train_lo", StandardOpenOption.APPEND);
        CliRun refused = CliRun.of("train", "--resume", out.toString(), "--set", "lora.rank=2");
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("--set lora.rank: cannot change on --resume"), refused.err());
        CliRun longer = CliRun.of("train", "--resume", out.toString(), "--set", "train.rounds=3");
        assertEquals(0, longer.code(), longer.err());
        List<JsonObject> three = metrics(out);
        assertEquals(3, three.size());
        assertEquals(two.get(1).get("train_loss"), three.get(1).get("train_loss"), "rounds 1-2 kept as trained");
        JsonObject run = JsonParser.parseString(Files.readString(out.resolve("run.json"))).getAsJsonObject();
        JsonObject resume = run.getAsJsonArray("resumes").get(0).getAsJsonObject();
        assertEquals(2, resume.get("after_round").getAsInt());
        assertEquals(3, resume.getAsJsonObject("changed").get("train.rounds").getAsInt());
        assertEquals(3, run.getAsJsonObject("config").getAsJsonObject("train").get("rounds").getAsInt());
        // the report could not be rewritten from the bad evals.jsonl, and said so without stopping the run;
        // the report command names the file and line
        CliRun report = CliRun.of("report", out.toString());
        assertEquals(1, report.code());
        assertTrue(report.err().contains("evals.jsonl:2"), report.err());
    }

    @Test
    void reportOutReplacesOnlyItsOwnPages() throws Exception {
        Path out = tmp.resolve("reported");
        assertEquals(0, train(out, "train.rounds=1").code());
        Path metrics = out.resolve("metrics.jsonl");
        String before = Files.readString(metrics);
        CliRun over = CliRun.of("report", out.toString(), "--out", metrics.toString());
        assertEquals(1, over.code());
        assertTrue(over.err().contains("is not a report written by splitlora"), over.err());
        assertEquals(before, Files.readString(metrics), "the run's own file is untouched");
        Path page = tmp.resolve("compare.html");
        assertEquals(0, CliRun.of("report", out.toString(), "--out", page.toString()).code());
        assertEquals(0, CliRun.of("report", out.toString(), out.toString(), "--out", page.toString()).code(), "our page is replaced");
        Path mine = Files.writeString(tmp.resolve("mine.html"), "<html><head></head><body>my notes</body></html>");
        assertEquals(1, CliRun.of("report", out.toString(), "--out", mine.toString()).code());
        assertEquals(0, CliRun.of("report", out.toString(), "--out", mine.toString(), "--force").code());
    }
}
