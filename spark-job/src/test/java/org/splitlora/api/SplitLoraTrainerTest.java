package org.splitlora.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.config.TrainConfig;
import org.splitlora.federation.Checkpoint;
import org.splitlora.store.RunStore;
import org.splitlora.testutil.SyntheticShards;

/** The public training API on the caller's session: the CLI's results, listeners after the checkpoint, the session left running. */
class SplitLoraTrainerTest {

    @TempDir
    Path tmp;

    @Test
    void fitsOnTheCallersSessionAsTrainDoesAndLeavesItRunning() throws IOException {
        Path data = SyntheticShards.prepare(tmp, 80, 9, 2, "builtin:tiny-gpt2");
        List<String> sets = List.of("model=builtin:tiny-gpt2", "data.dir=" + data, "mode=sfl", "split.cut=2", "train.rounds=2",
                "train.localSteps=2", "train.batchSize=4", "train.microBatchSize=4", "lora.targets=[q,v]", "lora.rank=4",
                "data.maxValidExamples=8", "train.evalEvery=1");

        List<String> cli = new ArrayList<>(List.of("train", "--set", "out=" + tmp.resolve("cli")));
        sets.forEach(s -> cli.addAll(List.of("--set", s)));
        CliRun byCli = CliRun.of(cli.toArray(String[]::new));
        assertEquals(0, byCli.code(), byCli.err());

        SparkSession spark = SparkSession.builder().master("local[4,4]").appName("api test").getOrCreate();
        List<String> withOut = new ArrayList<>(sets);
        withOut.add("out=" + tmp.resolve("api"));
        List<Integer> seen = new ArrayList<>();
        RunStore api = RunStore.at(tmp.resolve("api"));
        TrainedRun run = SplitLoraTrainer.of(TrainConfig.load(null, withOut)).listener(r -> {
            assertEquals(r.round() + 1, Checkpoint.latest(api).orElseThrow(), "a caller's listener sees a checkpointed round");
            seen.add(r.round() + 1);
        }).fit(spark);
        assertFalse(spark.sparkContext().isStopped(), "the caller's session keeps running");
        assertEquals(List.of(1, 2), seen);
        assertEquals(2, run.rounds());
        assertEquals(api.location(), run.location());
        assertTrue(run.adapters().containsKey("layers.0.q.lora_A"), run.adapters().keySet().toString());

        List<String> a = Files.readAllLines(tmp.resolve("cli/metrics.jsonl"));
        List<String> b = Files.readAllLines(tmp.resolve("api/metrics.jsonl"));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(JsonParser.parseString(a.get(i)).getAsJsonObject().get(key),
                        JsonParser.parseString(b.get(i)).getAsJsonObject().get(key), "round " + (i + 1) + " " + key);
            }
        }
        // train, given a session that already runs (as the demo's), uses it and leaves it running
        List<String> again = new ArrayList<>(List.of("train", "--set", "out=" + tmp.resolve("cli-in-session")));
        sets.forEach(s -> again.addAll(List.of("--set", s)));
        assertEquals(0, CliRun.of(again.toArray(String[]::new)).code());
        assertFalse(spark.sparkContext().isStopped(), "train did not stop a session it did not create");
        Files.createDirectories(tmp.resolve("again"));
        SyntheticShards.prepare(tmp.resolve("again"), 20, 3, 1, "builtin:tiny-gpt2");
        assertFalse(spark.sparkContext().isStopped(), "prepare did not stop a session it did not create");
        spark.stop();
    }
}
