package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.testutil.Fixtures;

/**
 * Mode splitft on Spark local mode with stories260k (5 blocks) and non-IID E2E shards
 * (length-based Dirichlet): a fixed cut is SFL, and the equalizing policy moves a slow client's
 * cut down and fast ones up, aggregating blocks held at different depths and ranks, across a
 * checkpoint and resume.
 */
@Tag("fixtures")
class SplitFtTest {

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void prepare() throws IOException {
        Path csv = Fixtures.e2eTrainHead(tmp.resolve("e2e.csv"), 240);
        data = tmp.resolve("data");
        CliRun r = CliRun.of("prepare", "--input", csv.toString(), "--format", "e2e", "--tokenizer", Fixtures.stories260k().toString(),
                "--clients", "3", "--partition", "length-dirichlet", "--alpha", "0.1", "--min-examples", "8", "--out", data.toString());
        assertEquals(0, r.code(), r.err());
    }

    private static final String[] COMMON = {"model=\"" + Fixtures.stories260k() + "\"", "split.cut=2", "train.localSteps=2",
            "train.batchSize=4", "train.microBatchSize=2", "optimizer.lr=1e-2", "optimizer.warmupSteps=1", "lora.rank=4",
            "lora.cutRank=2", "lora.targets=[q,v,down]", "data.maxValidExamples=40"};

    @Test
    void withEveryClientFixedAtOneCutSplitFtIsSfl() throws IOException {
        List<JsonObject> sfl = train("sfl", null, "train.rounds=3");
        List<JsonObject> ft = train("splitft", null, "train.rounds=3", "splitft.policy=fixed");
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++) {
                JsonObject a = sfl.get(r).getAsJsonArray("per_client").get(c).getAsJsonObject();
                JsonObject b = ft.get(r).getAsJsonArray("per_client").get(c).getAsJsonObject();
                assertEquals(a.get("train_loss").getAsDouble(), b.get("train_loss").getAsDouble(), 1e-7, "round " + (r + 1));
                assertEquals(2, b.get("layers").getAsInt());
                assertEquals(2, b.get("rank_at_cut").getAsInt());
            }
            assertEquals(sfl.get(r).get("val_loss").getAsDouble(), ft.get(r).get("val_loss").getAsDouble(), 1e-7);
            assertEquals(sfl.get(r).get("bytes_up"), ft.get(r).get("bytes_up"));
            assertEquals("{\"0\":2,\"1\":2,\"2\":2}", ft.get(r).get("cuts").toString());
        }
    }

    @Test
    void theEqualizingPolicyMovesASlowClientDownAndSurvivesAResume() throws IOException {
        Path out = tmp.resolve("equalize");
        String[] sets = {"train.rounds=4", "splitft.policy=equalize", "splitft.minCut=1", "splitft.maxCut=4",
                "clients.speed=[1, 1, 0.2]"};
        System.setProperty(FaultInjection.STOP_PROPERTY, "2");
        try {
            CliRun stopped = CliRun.of(args("splitft", out, sets));
            assertEquals(1, stopped.code(), "the injected stop fails the run");
        } finally {
            System.clearProperty(FaultInjection.STOP_PROPERTY);
        }
        List<JsonObject> first = metrics(out);
        // round 1 at cut 2: the client 5x slower than the others gives a block to the server, the others take one
        assertEquals(List.of(3, 3, 1), decided(first.get(0)));
        assertEquals("{\"0\":3,\"1\":3,\"2\":1}", first.get(1).get("cuts").toString());
        JsonObject slow = first.get(1).getAsJsonArray("per_client").get(2).getAsJsonObject();
        assertEquals(1, slow.get("layers").getAsInt());
        assertEquals(2, slow.get("rank_at_cut").getAsInt());
        // round 2 holds block 1 at rank 4 on clients at cut 3 and at rank 2 in the server unit for cut 1:
        // aggregated in ΔW space and re-factored to rank 4, which truncates
        double truncation = first.get(1).getAsJsonObject("truncation_error").get("aggregate").getAsDouble();
        assertTrue(truncation > 0 && truncation < 1, "aggregate truncation " + truncation);
        assertEquals(0, first.get(0).getAsJsonObject("truncation_error").get("aggregate").getAsDouble(), 0, "one cut, one rank per block");

        CliRun resumed = CliRun.of("train", "--resume", out.toString());
        assertEquals(0, resumed.code(), resumed.err());
        List<JsonObject> all = metrics(out);
        assertEquals(4, all.size());
        // the checkpoint carried the cuts the policy chose after round 2
        List<Integer> next = decided(all.get(1));
        for (int c = 0; c < 3; c++) {
            assertEquals(next.get(c), all.get(2).getAsJsonObject("cuts").get(String.valueOf(c)).getAsInt());
        }
        for (JsonObject r : all) {
            assertTrue(Double.isFinite(r.get("val_loss").getAsDouble()));
        }
        assertTrue(all.get(3).get("val_loss").getAsDouble() < all.get(0).get("val_loss").getAsDouble(),
                all.get(0).get("val_loss") + " -> " + all.get(3).get("val_loss"));
        // the exported adapter has the aggregate's per-layer ranks and generates
        CliRun gen = CliRun.of("generate", "--model", Fixtures.stories260k().toString(), "--adapter", out.resolve("adapter").toString(),
                "--prompt-ids", "1", "--max-new-tokens", "4", "--json");
        assertEquals(0, gen.code(), gen.err());
    }

    private static List<Integer> decided(JsonObject round) {
        List<Integer> out = new ArrayList<>();
        for (JsonElement d : round.getAsJsonArray("cut_decisions")) {
            out.add(d.getAsJsonObject().get("to").getAsInt());
        }
        return out;
    }

    private static int runs;

    private static List<JsonObject> train(String mode, Path out, String... sets) throws IOException {
        Path dir = out != null ? out : tmp.resolve("run-" + (runs++) + "-" + mode);
        CliRun r = CliRun.of(args(mode, dir, sets));
        assertEquals(0, r.code(), r.err());
        return metrics(dir);
    }

    private static String[] args(String mode, Path out, String... sets) {
        List<String> args = new ArrayList<>(List.of("train", "--set", "mode=" + mode, "--set", "data.dir=\"" + data + "\"",
                "--set", "out=\"" + out + "\""));
        for (String s : Stream.concat(Stream.of(COMMON), Stream.of(sets)).toList()) {
            args.add("--set");
            args.add(s);
        }
        return args.toArray(String[]::new);
    }

    private static List<JsonObject> metrics(Path out) throws IOException {
        return FederationTest.metrics(out);
    }
}
