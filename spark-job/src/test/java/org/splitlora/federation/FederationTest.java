package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.cli.CliRun;
import org.splitlora.testutil.Fixtures;

/**
 * The federation on Spark local mode with the real stories260k Llama and E2E shards from
 * {@code prepare}: split vs centralized, FedAvg over identical clients, recovery from a failed
 * client task.
 */
@Tag("fixtures")
class FederationTest {

    @TempDir
    static Path tmp;
    static Path oneClient;
    static Path threeClients;

    @BeforeAll
    static void prepare() throws IOException {
        Path csv = Fixtures.e2eTrainHead(tmp.resolve("e2e.csv"), 160);
        oneClient = prepared(csv, 1);
        threeClients = prepared(csv, 3);
    }

    private static Path prepared(Path csv, int clients) {
        Path out = tmp.resolve("data-" + clients);
        CliRun r = CliRun.of("prepare", "--input", csv.toString(), "--format", "e2e", "--tokenizer",
                Fixtures.stories260k().toString(), "--clients", String.valueOf(clients), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        return out;
    }

    @Test
    void oneClientSplitTrainingEqualsCentralizedStepByStep() throws IOException {
        // one local step per round: every round's train_loss is one step's loss
        String[] common = {"model=\"" + Fixtures.stories260k() + "\"", "split.cut=2", "train.rounds=6", "train.localSteps=1",
                "train.batchSize=8", "train.microBatchSize=3", "train.evalEvery=3", "optimizer.lr=1e-2",
                "optimizer.warmupSteps=2", "optimizer.maxGradNorm=0", "lora.targets=[q,k,v,o,up,down,gate]"};
        List<JsonObject> central = train("central", oneClient, common);
        List<JsonObject> sfl = train("sfl", oneClient, common);
        // v1 (a server copy per client) with one client is the same computation
        List<String> v1 = new ArrayList<>(List.of(common));
        v1.add("split.serverVersion=v1");
        List<JsonObject> sflV1 = train("sfl", oneClient, v1.toArray(String[]::new));
        assertEquals(6, sfl.size());
        for (int r = 0; r < 6; r++) {
            assertEquals(central.get(r).get("train_loss").getAsDouble(), sfl.get(r).get("train_loss").getAsDouble(), 1e-5,
                    "round " + (r + 1));
            assertEquals(central.get(r).get("train_loss").getAsDouble(), sflV1.get(r).get("train_loss").getAsDouble(), 1e-5,
                    "v1 round " + (r + 1));
        }
        assertEquals(central.get(5).get("val_loss").getAsDouble(), sfl.get(5).get("val_loss").getAsDouble(), 1e-5);
        assertEquals(central.get(5).get("val_loss").getAsDouble(), sflV1.get(5).get("val_loss").getAsDouble(), 1e-5);
        assertTrue(sfl.get(0).get("bytes_up").getAsLong() > 0 && sfl.get(0).get("bytes_down").getAsLong() > 0);
    }

    @Test
    void aReducedRankAtTheCutShrinksTheAdapterPayload() throws IOException {
        String[] common = {"model=\"" + Fixtures.stories260k() + "\"", "split.cut=2", "train.rounds=1", "train.localSteps=1",
                "train.batchSize=4", "train.microBatchSize=4", "lora.rank=8", "lora.targets=[q,v]"};
        List<String> reduced = new ArrayList<>(List.of(common));
        reduced.add("lora.cutRank=2");
        JsonObject full = train("sfl", oneClient, common).get(0);
        JsonObject cut = train("sfl", oneClient, reduced.toArray(String[]::new)).get(0);
        // client blocks 0 and 1 of stories260k (d=64, kv width 32): q is r·(64+64), v is r·(64+32) floats per block
        assertEquals(4L * (224 * 8 + 224 * 8), full.get("lora_bytes_up").getAsLong());
        assertEquals(4L * (224 * 8 + 224 * 2), cut.get("lora_bytes_up").getAsLong());
        assertEquals(full.get("lora_bytes_up"), full.get("lora_bytes_down"));
        assertEquals(full.get("bytes_up"), cut.get("bytes_up"), "the activations do not depend on the rank");
    }

    @Test
    void fedAvgOfIdenticalClientsEqualsOneClient() throws IOException {
        Path triplicate = tmp.resolve("identical-3");
        copyTree(oneClient, triplicate);
        Files.move(triplicate.resolve("train/client_id=0"), tmp.resolve("shard"));
        for (int c = 0; c < 3; c++) {
            copyTree(tmp.resolve("shard"), triplicate.resolve("train/client_id=" + c));
        }
        JsonObject manifest = JsonParser.parseString(Files.readString(triplicate.resolve("manifest.json"))).getAsJsonObject();
        JsonArray clients = manifest.getAsJsonArray("clients");
        JsonArray files = manifest.getAsJsonArray("files");
        List<JsonObject> shard = new ArrayList<>();
        files.forEach(f -> {
            if (f.getAsJsonObject().get("path").getAsString().startsWith("train/client_id=0/")) {
                shard.add(f.getAsJsonObject());
            }
        });
        for (int c = 1; c < 3; c++) {
            JsonObject copy = clients.get(0).getAsJsonObject().deepCopy();
            copy.addProperty("client_id", c);
            clients.add(copy);
            for (JsonObject f : shard) { // the copied files, as the driver checks them against the manifest
                JsonObject fc = f.deepCopy();
                fc.addProperty("path", f.get("path").getAsString().replace("client_id=0/", "client_id=" + c + "/"));
                files.add(fc);
            }
        }
        Files.writeString(triplicate.resolve("manifest.json"), manifest.toString());
        Files.deleteIfExists(triplicate.resolve(".manifest.json.crc")); // Hadoop's checksum of the old content
        long examples = clients.get(0).getAsJsonObject().get("examples").getAsLong();
        // full-batch steps without dropout: whatever its order, each client computes the one-client update
        String[] common = {"model=\"" + Fixtures.stories260k() + "\"", "split.cut=3", "train.rounds=2", "train.localSteps=2",
                "train.batchSize=" + examples, "train.microBatchSize=8", "lora.dropout=0",
                "federation.weighting=uniform", "optimizer.lr=1e-2", "optimizer.warmupSteps=0"};
        List<JsonObject> one = train("sfl", oneClient, common);
        List<JsonObject> three = train("sfl", triplicate, common);
        for (int r = 0; r < 2; r++) {
            assertEquals(3, three.get(r).getAsJsonArray("clients").size());
            for (var c : three.get(r).getAsJsonArray("per_client")) {
                assertEquals(one.get(r).get("train_loss").getAsDouble(), c.getAsJsonObject().get("train_loss").getAsDouble(), 1e-5);
            }
            assertEquals(one.get(r).get("val_loss").getAsDouble(), three.get(r).get("val_loss").getAsDouble(), 1e-5, "round " + (r + 1));
        }
    }

    @Test
    void aClientTaskThatFailsMidRoundIsRetriedAndCountedOnce() throws IOException {
        // the model by URI: executors read it through the Hadoop FileSystem API
        String[] common = {"model=\"" + Fixtures.stories260k().toAbsolutePath().normalize().toUri() + "\"", "split.cut=2", "train.rounds=3", "train.localSteps=3",
                "train.batchSize=4", "train.microBatchSize=2", "optimizer.lr=1e-2", "optimizer.warmupSteps=1"};
        List<JsonObject> clean = train("sfl", threeClients, common);
        List<JsonObject> failed;
        System.setProperty(FaultInjection.PROPERTY, "2:1:1");
        try {
            failed = train("sfl", threeClients, common);
        } finally {
            System.clearProperty(FaultInjection.PROPERTY);
        }
        for (int r = 0; r < 3; r++) {
            assertEquals(clean.get(r).get("train_loss").getAsDouble(), failed.get(r).get("train_loss").getAsDouble(), 1e-6);
            assertEquals(clean.get(r).get("val_loss").getAsDouble(), failed.get(r).get("val_loss").getAsDouble(), 1e-6);
            int attempt = failed.get(r).getAsJsonArray("per_client").get(0).getAsJsonObject().get("stage_attempt").getAsInt();
            assertEquals(r == 1 ? 1 : 0, attempt, "round " + (r + 1) + " ran as stage attempt " + attempt);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"v2", "v1"})
    void aRunStoppedAfterARoundAndResumedRepeatsTheUninterruptedRun(String server) throws IOException {
        String[] common = {"model=\"" + Fixtures.stories260k() + "\"", "split.cut=3", "train.rounds=4", "train.localSteps=2",
                "train.batchSize=4", "train.microBatchSize=4", "optimizer.lr=1e-2", "optimizer.warmupSteps=1",
                "federation.clientsPerRound=2", "split.serverVersion=" + server};
        List<JsonObject> whole = train("sfl", threeClients, common);
        Path out = tmp.resolve("resumed-" + server);
        List<String> args = new ArrayList<>(List.of("train", "--set", "mode=sfl", "--set", "data.dir=\"" + threeClients + "\"",
                "--set", "out=\"" + out + "\""));
        for (String s : common) {
            args.add("--set");
            args.add(s);
        }
        System.setProperty(FaultInjection.STOP_PROPERTY, "2");
        try {
            CliRun stopped = CliRun.of(args.toArray(String[]::new));
            assertEquals(1, stopped.code(), "the injected stop fails the run");
        } finally {
            System.clearProperty(FaultInjection.STOP_PROPERTY);
        }
        assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        assertTrue(Files.isDirectory(out.resolve("adapters/round-0002")) && !Files.exists(out.resolve("adapters/round-0003")));
        CliRun resumed = CliRun.of("train", "--resume", out.toString());
        assertEquals(0, resumed.code(), resumed.err());
        List<JsonObject> continued = metrics(out);
        assertEquals(4, continued.size());
        for (int r = 0; r < 4; r++) {
            assertEquals(whole.get(r).get("clients"), continued.get(r).get("clients"));
            assertEquals(whole.get(r).get("train_loss").getAsDouble(), continued.get(r).get("train_loss").getAsDouble(), 1e-7,
                    "round " + (r + 1));
            assertEquals(whole.get(r).get("val_loss").getAsDouble(), continued.get(r).get("val_loss").getAsDouble(), 1e-7);
        }
        // the exported PEFT adapter is the trained model: same logits as the checkpoint's adapters
        var config = org.splitlora.model.ModelSource.of(Fixtures.stories260k().toString()).config();
        try (org.splitlora.model.weights.SafetensorsFile st =
                     org.splitlora.model.weights.SafetensorsFile.open(out.resolve(Checkpoint.directory(4)).resolve("tensors.safetensors"))) {
            java.util.Map<String, float[]> trained = new java.util.TreeMap<>();
            for (String name : st.names()) {
                if (name.startsWith("global.")) {
                    trained.put(name.substring("global.".length()), st.floats(name));
                }
            }
            var peft = org.splitlora.model.peft.PeftAdapter.read(out.resolve("adapter"), config);
            assertEquals(trained.keySet(), peft.values().keySet());
            for (String k : trained.keySet()) {
                float[] a = trained.get(k);
                float[] b = peft.values().get(k);
                for (int i = 0; i < a.length; i++) {
                    assertEquals(a[i], b[i], 1e-6 * Math.max(1, Math.abs(a[i])), k);
                }
            }
        }
        CliRun gen = CliRun.of("generate", "--model", Fixtures.stories260k().toString(), "--adapter", out.resolve("adapter").toString(),
                "--prompt-ids", "1", "--max-new-tokens", "8", "--json");
        assertEquals(0, gen.code(), gen.err());
    }

    private static int runs;

    /** Runs {@code train} with overrides; returns the metrics.jsonl records. */
    static List<JsonObject> train(String mode, Path data, String... sets) throws IOException {
        Path out = tmp.resolve("run-" + (runs++) + "-" + mode);
        List<String> args = new ArrayList<>(List.of("train", "--set", "mode=" + mode, "--set", "data.dir=\"" + data + "\"",
                "--set", "out=\"" + out + "\""));
        for (String s : sets) {
            args.add("--set");
            args.add(s);
        }
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return metrics(out);
    }

    static List<JsonObject> metrics(Path out) throws IOException {
        List<JsonObject> rounds = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            rounds.add(JsonParser.parseString(line).getAsJsonObject());
        }
        return rounds;
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
