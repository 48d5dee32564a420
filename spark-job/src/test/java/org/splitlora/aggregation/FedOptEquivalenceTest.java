package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.testutil.SyntheticShards;

/**
 * FedOpt with SGD clients (lr 1, one local step a round) and the run's AdamW on the server
 * ({@code server-adamw}) is CenLoRA: with one client, split training round by round equals
 * {@code central} step by step (the same batches, the same AdamW arithmetic on the same gradient);
 * with three, {@code fl} and {@code sfl} equal {@code central} on the clients' pooled batches
 * ({@code train.centralBatches = per-client}), clipping by the joint norm included.
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

    /**
     * Three clients whose every example has 9 target tokens, so a client's mean gradient weighs as
     * much as its share of the pooled batch's tokens (uniform weights): the mean of the clients'
     * SGD updates is minus the pooled batch's gradient, and one AdamW step on it (clipped by its
     * norm) is central's step on the pooled batch.
     */
    @Test
    void threeClientsEqualCentralOnTheirPooledBatches() throws Exception {
        Path jsonl = tmp.resolve("rows.jsonl");
        Random rnd = new Random(3);
        String[] foods = {"pasta", "curry", "sushi", "pizza", "salad", "soup"};
        String[] places = {"river", "park", "station", "market", "bridge", "church"};
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 66; i++) {
            JsonObject o = new JsonObject();
            o.addProperty("prompt", "name[" + (char) ('A' + rnd.nextInt(4)) + "] food[" + foods[rnd.nextInt(6)] + "] price["
                    + (10 + rnd.nextInt(90)) + "]");
            o.addProperty("completion", " It serves " + foods[rnd.nextInt(6)] + " near the " + places[rnd.nextInt(6)] + ".");
            rows.add(o.toString());
        }
        Files.write(jsonl, rows);
        Path data = tmp.resolve("data");
        CliRun p = CliRun.of("prepare", "--input", jsonl.toString(), "--format", "jsonl", "--tokenizer", "builtin:tiny-gpt2",
                "--clients", "3", "--valid-fraction", "0.1", "--out", data.toString());
        assertEquals(0, p.code(), p.err());
        // 4 rounds of 4 examples: no client reaches the end of its shard (19 or 20 examples), where a
        // short batch would weigh less in the pooled mean than in the uniform average
        String[] common = {"--set", "optimizer.maxGradNorm=0.5", "--set", "federation.weighting=uniform", "--set", "train.rounds=4"};
        List<double[]> central = run(data, "central", "fedavg", "adamw", concat(common, "--set", "train.centralBatches=per-client"));
        List<double[]> fedopt = run(data, "fl", "server-adamw", "sgd", common);
        List<double[]> union = run(data, "central", "fedavg", "adamw", common);
        assertEquals(4, central.size());
        for (int r = 0; r < central.size(); r++) {
            assertEquals(central.get(r)[0], fedopt.get(r)[0], 1e-5, "round " + (r + 1) + " train loss");
            assertEquals(central.get(r)[1], fedopt.get(r)[1], 1e-5, "round " + (r + 1) + " val loss");
        }
        // the pooling is what makes the batches the same: central over the shuffled union differs
        assertNotEquals(central.get(0)[0], union.get(0)[0], 1e-4);
        // in sfl the server's units step with SGD too and server-adamw steps every block at once
        // (one clip by the joint norm): split, it is still central's step on the pooled batch
        List<double[]> split = run(data, "sfl", "server-adamw", "sgd", common);
        for (int r = 0; r < central.size(); r++) {
            assertEquals(central.get(r)[0], split.get(r)[0], 1e-5, "sfl round " + (r + 1) + " train loss");
            assertEquals(central.get(r)[1], split.get(r)[1], 1e-5, "sfl round " + (r + 1) + " val loss");
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private List<double[]> run(Path data, String mode, String aggregation, String clientOptimizer, String... more)
            throws Exception {
        Path out = tmp.resolve(mode + "-" + aggregation + "-" + clientOptimizer + "-" + more.length);
        List<String> args = new ArrayList<>(List.of("train", "--set", "out=" + out, "--set", "model=builtin:tiny-gpt2", "--set", "data.dir=" + data,
                "--set", "mode=" + mode, "--set", "split.cut=2", "--set", "train.rounds=5", "--set", "train.localSteps=1",
                "--set", "train.batchSize=4", "--set", "train.microBatchSize=2", "--set", "lora.targets=[q,v,o]",
                "--set", "lora.rank=4", "--set", "lora.dropout=0", "--set", "data.maxValidExamples=8", "--set", "train.evalEvery=1",
                "--set", "optimizer.lr=0.01", "--set", "optimizer.warmupSteps=2", "--set", "optimizer.weightDecay=0.01",
                "--set", "optimizer.maxGradNorm=0", "--set", "federation.aggregation=" + aggregation,
                "--set", "federation.clientOptimizer=" + clientOptimizer, "--set", "federation.clientLr=1"));
        args.addAll(List.of(more));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<double[]> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            losses.add(new double[] {o.get("train_loss").getAsDouble(), o.get("val_loss").getAsDouble()});
        }
        return losses;
    }
}
