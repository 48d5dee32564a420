package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.testutil.SyntheticShards;

/**
 * FedOpt with SGD clients (lr 1, one local step a round) and the run's AdamW on the server
 * ({@code server-adamw}) is CenLoRA: with one client, split training round by round equals
 * {@code central} step by step (the same batches, the same AdamW arithmetic on the same gradient).
 */
class FedOptEquivalenceTest {

    @TempDir
    Path tmp;

    @Test
    void sgdClientsWithServerAdamWEqualCentralStepByStep() throws Exception {
        Path data = SyntheticShards.prepare(tmp, 60, 11, 1, "builtin:tiny-gpt2");
        List<double[]> central = run(data, "central", "fedavg", "adamw");
        List<double[]> fedopt = run(data, "sfl", "server-adamw", "sgd");
        List<double[]> plainSgd = run(data, "sfl", "fedavg", "sgd");
        assertEquals(central.size(), fedopt.size());
        for (int r = 0; r < central.size(); r++) {
            assertEquals(central.get(r)[0], fedopt.get(r)[0], 1e-5, "round " + (r + 1) + " train loss");
            assertEquals(central.get(r)[1], fedopt.get(r)[1], 1e-5, "round " + (r + 1) + " val loss");
        }
        // the server optimizer is what makes it AdamW: SGD clients averaged by fedavg train differently
        assertNotEquals(central.get(central.size() - 1)[1], plainSgd.get(plainSgd.size() - 1)[1], 1e-4);
    }

    private List<double[]> run(Path data, String mode, String aggregation, String clientOptimizer) throws Exception {
        Path out = tmp.resolve(mode + "-" + aggregation + "-" + clientOptimizer);
        CliRun r = CliRun.of("train", "--set", "out=" + out, "--set", "model=builtin:tiny-gpt2", "--set", "data.dir=" + data,
                "--set", "mode=" + mode, "--set", "split.cut=2", "--set", "train.rounds=5", "--set", "train.localSteps=1",
                "--set", "train.batchSize=4", "--set", "train.microBatchSize=2", "--set", "lora.targets=[q,v,o]",
                "--set", "lora.rank=4", "--set", "lora.dropout=0", "--set", "data.maxValidExamples=8", "--set", "train.evalEvery=1",
                "--set", "optimizer.lr=0.01", "--set", "optimizer.warmupSteps=2", "--set", "optimizer.weightDecay=0.01",
                "--set", "optimizer.maxGradNorm=0", "--set", "federation.aggregation=" + aggregation,
                "--set", "federation.clientOptimizer=" + clientOptimizer, "--set", "federation.clientLr=1");
        assertEquals(0, r.code(), r.err());
        List<double[]> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            losses.add(new double[] {o.get("train_loss").getAsDouble(), o.get("val_loss").getAsDouble()});
        }
        return losses;
    }
}
