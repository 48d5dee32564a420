package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.api.SplitLoraTrainer;
import org.splitlora.config.TrainConfig;
import org.splitlora.testutil.SyntheticShards;

/**
 * Every mode's training scheme on the built-in model (no fixtures), through the public API on one
 * shared session: with a single client each one is CenLoRA step by step (same batches, dropout
 * masks and schedule), and each, stopped after a round and resumed from its checkpoint, repeats
 * its uninterrupted run bit for bit.
 */
class EveryModeTest {

    private static final String MODEL = "builtin:tiny-gpt2";

    @TempDir
    static Path tmp;
    static Path oneClient;
    static Path threeClients;
    static SparkSession spark;

    @BeforeAll
    static void prepare() throws IOException {
        oneClient = SyntheticShards.prepare(Files.createDirectory(tmp.resolve("one")), 60, 5, 1, MODEL);
        threeClients = SyntheticShards.prepare(Files.createDirectory(tmp.resolve("three")), 90, 5, 3, MODEL);
        spark = SparkSession.builder().master("local[3,4]").appName("every mode").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void withOneClientEveryModeTrainsAsCentral() throws IOException {
        // without clipping: a split client and the server clip their own parts' gradients
        List<JsonObject> central = fit(run("central", oneClient, 1, "central", "optimizer.maxGradNorm=0"));
        for (String mode : List.of("fl", "sl", "sfl", "splitft")) {
            List<JsonObject> other = fit(run(mode, oneClient, 1, "one-" + mode, "optimizer.maxGradNorm=0"));
            assertEquals(central.size(), other.size());
            for (int r = 0; r < central.size(); r++) {
                for (String key : List.of("train_loss", "val_loss")) {
                    assertEquals(central.get(r).get(key).getAsDouble(), other.get(r).get(key).getAsDouble(), 1e-5,
                            mode + " round " + (r + 1) + " " + key);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"central", "fl", "sl", "sfl", "splitft"})
    void aRunStoppedAfterARoundAndResumedRepeatsTheUninterruptedRun(String mode) throws IOException {
        List<String> whole = run(mode, threeClients, 2, "whole-" + mode);
        List<JsonObject> expected = fit(whole);
        List<String> stopped = run(mode, threeClients, 2, "stopped-" + mode);
        System.setProperty(FaultInjection.STOP_PROPERTY, "1");
        try {
            assertThrows(IllegalStateException.class, () -> SplitLoraTrainer.of(TrainConfig.load(null, stopped)).fit(spark));
        } finally {
            System.clearProperty(FaultInjection.STOP_PROPERTY);
        }
        Path out = tmp.resolve("stopped-" + mode);
        SplitLoraTrainer.resume(out.toString(), List.of()).fit(spark);
        List<JsonObject> resumed = metrics(out);
        assertEquals(expected.size(), resumed.size());
        for (int r = 0; r < expected.size(); r++) {
            assertEquals(expected.get(r).get("clients"), resumed.get(r).get("clients"), "round " + (r + 1));
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(expected.get(r).get(key).getAsDouble(), resumed.get(r).get(key).getAsDouble(), 0.0,
                        mode + " round " + (r + 1) + " " + key);
            }
        }
        assertArrayEquals(Files.readAllBytes(tmp.resolve("whole-" + mode).resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(out.resolve("adapter/adapter_model.safetensors")), mode + ": the final adapter");
    }

    /**
     * Activation checkpointing recomputes the blocks of clients and server in the backward; the
     * arithmetic is the plain run's, so losses and the final adapter are the same (three clients:
     * v2's cross-client batched server pass, v1's per-client passes; rows joining at different
     * cuts are in SplitExchangeTest, as splitft's adaptive policies move cuts by measured time).
     */
    @ParameterizedTest
    @ValueSource(strings = {"central", "fl", "sfl", "sfl-v1", "splitft"})
    void checkpointedRunsEqualPlainRuns(String variant) throws IOException {
        String mode = variant.equals("sfl-v1") ? "sfl" : variant;
        List<String> extra = new ArrayList<>(List.of("lora.dropout=0.1"));
        if (variant.equals("sfl-v1")) {
            extra.add("split.serverVersion=v1");
        }
        List<JsonObject> plain = fit(run(mode, threeClients, 3, "plain-" + variant, extra.toArray(String[]::new)));
        extra.add("train.gradientCheckpointing=true");
        List<JsonObject> checkpointed = fit(run(mode, threeClients, 3, "ckpt-" + variant, extra.toArray(String[]::new)));
        assertEquals(plain.size(), checkpointed.size());
        for (int r = 0; r < plain.size(); r++) {
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(plain.get(r).get(key).getAsDouble(), checkpointed.get(r).get(key).getAsDouble(), 1e-6,
                        variant + " round " + (r + 1) + " " + key);
            }
        }
        assertArrayEquals(Files.readAllBytes(tmp.resolve("plain-" + variant).resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("ckpt-" + variant).resolve("adapter/adapter_model.safetensors")),
                variant + ": the final adapter");
    }

    /**
     * split.pipelineDepth keeps micro-batches in flight (here 3 of a step's 4) without changing the
     * arithmetic: losses, per-client losses and the final adapter equal lock-step's (three
     * clients: v2's cross-client batched groups, v1's per-client copies, sequential split).
     */
    @ParameterizedTest
    @ValueSource(strings = {"sl", "sfl", "sfl-v1", "splitft"})
    void pipelinedRunsEqualLockStep(String variant) throws IOException {
        String mode = variant.equals("sfl-v1") ? "sfl" : variant;
        List<String> extra = new ArrayList<>(List.of("lora.dropout=0.1", "train.microBatchSize=1"));
        if (variant.equals("sfl-v1")) {
            extra.add("split.serverVersion=v1");
        }
        List<JsonObject> lockStep = fit(run(mode, threeClients, 3, "lockstep-" + variant, extra.toArray(String[]::new)));
        extra.add("split.pipelineDepth=3");
        List<JsonObject> pipelined = fit(run(mode, threeClients, 3, "pipelined-" + variant, extra.toArray(String[]::new)));
        assertEquals(lockStep.size(), pipelined.size());
        for (int r = 0; r < lockStep.size(); r++) {
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(lockStep.get(r).get(key).getAsDouble(), pipelined.get(r).get(key).getAsDouble(), 0.0,
                        variant + " round " + (r + 1) + " " + key);
            }
            assertEquals(clientLosses(lockStep.get(r)), clientLosses(pipelined.get(r)), variant + " round " + (r + 1));
        }
        assertArrayEquals(Files.readAllBytes(tmp.resolve("lockstep-" + variant).resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(tmp.resolve("pipelined-" + variant).resolve("adapter/adapter_model.safetensors")),
                variant + ": the final adapter");
    }

    /** Each client's mean training loss and bytes sent in a round's metrics, by client id. */
    private static java.util.Map<Integer, List<Double>> clientLosses(JsonObject round) {
        java.util.Map<Integer, List<Double>> out = new java.util.TreeMap<>();
        round.getAsJsonArray("per_client").forEach(e -> {
            JsonObject c = e.getAsJsonObject();
            out.put(c.get("client").getAsInt(), List.of(c.get("train_loss").getAsDouble(), c.get("bytes_up").getAsDouble()));
        });
        return out;
    }

    /** A run of {@code mode}: 2 rounds of 2 local steps with {@code perRound} clients, evaluated every round. */
    private static List<String> run(String mode, Path data, int perRound, String name, String... more) {
        List<String> sets = new ArrayList<>(List.of("model=" + MODEL, "data.dir=\"" + data + "\"", "out=\"" + tmp.resolve(name) + "\"", "mode=" + mode,
                "split.cut=2", "splitft.policy=fixed", "train.rounds=2", "train.localSteps=2", "train.batchSize=4",
                "train.microBatchSize=2", "lora.targets=[q,v]", "lora.rank=4", "optimizer.lr=1e-2", "optimizer.warmupSteps=1",
                "federation.clientsPerRound=" + perRound, "data.maxValidExamples=8", "train.evalEvery=1"));
        sets.addAll(List.of(more));
        return sets;
    }

    private static List<JsonObject> fit(List<String> sets) throws IOException {
        TrainConfig cfg = TrainConfig.load(null, sets);
        SplitLoraTrainer.of(cfg).fit(spark);
        return metrics(Path.of(cfg.out()));
    }

    private static List<JsonObject> metrics(Path out) throws IOException {
        List<JsonObject> rounds = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            rounds.add(JsonParser.parseString(line).getAsJsonObject());
        }
        return rounds;
    }
}
