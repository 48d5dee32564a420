package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.testutil.Fixtures;

/** A training JVM killed with SIGKILL after round 2, then {@code train --resume}: the same losses as an uninterrupted run. */
@Tag("slow")
@Tag("fixtures")
class KillResumeTest {

    @TempDir
    Path tmp;

    @Test
    void aKilledRunResumesToTheUninterruptedLosses() throws Exception {
        Path csv = Fixtures.e2eTrainHead(tmp.resolve("e2e.csv"), 120);
        Path data = tmp.resolve("data");
        CliRun prepared = CliRun.of("prepare", "--input", csv.toString(), "--format", "e2e", "--tokenizer",
                Fixtures.stories260k().toString(), "--clients", "3", "--out", data.toString());
        assertEquals(0, prepared.code(), prepared.err());
        List<String> sets = List.of("model=\"" + Fixtures.stories260k() + "\"", "data.dir=\"" + data + "\"", "split.cut=2",
                "train.rounds=5", "train.localSteps=3", "train.batchSize=4", "train.microBatchSize=2", "optimizer.lr=1e-2",
                "optimizer.warmupSteps=1");

        Path whole = tmp.resolve("whole");
        CliRun uninterrupted = CliRun.of(args(whole, sets));
        assertEquals(0, uninterrupted.code(), uninterrupted.err());

        Path killed = tmp.resolve("killed");
        Process p = new ProcessBuilder(ChildJvm.command(args(killed, sets))).redirectErrorStream(true).start();
        boolean sawRound2 = false;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("round 2/")) {
                    sawRound2 = true;
                    p.destroyForcibly(); // SIGKILL: no shutdown hooks, files as they are
                    break;
                }
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(sawRound2, "the child never reached round 2");
        int done = org.splitlora.federation.Checkpoint.latest(org.splitlora.store.RunStore.at(killed)).orElse(0);
        assertTrue(done >= 1 && done <= 2, "checkpoint after round " + done);

        CliRun resumed = CliRun.of("train", "--resume", killed.toString());
        assertEquals(0, resumed.code(), resumed.err());
        List<String> a = Files.readAllLines(whole.resolve("metrics.jsonl"));
        List<String> b = Files.readAllLines(killed.resolve("metrics.jsonl"));
        assertEquals(5, b.size());
        for (int r = 0; r < 5; r++) {
            JsonObject x = JsonParser.parseString(a.get(r)).getAsJsonObject();
            JsonObject y = JsonParser.parseString(b.get(r)).getAsJsonObject();
            assertEquals(x.get("round"), y.get("round"));
            assertEquals(x.get("train_loss").getAsDouble(), y.get("train_loss").getAsDouble(), 1e-7, "round " + (r + 1));
            assertEquals(x.get("val_loss").getAsDouble(), y.get("val_loss").getAsDouble(), 1e-7, "round " + (r + 1));
        }
    }

    private static String[] args(Path out, List<String> sets) {
        List<String> a = new ArrayList<>(List.of("train", "--set", "out=\"" + out + "\""));
        for (String s : sets) {
            a.add("--set");
            a.add(s);
        }
        return a.toArray(String[]::new);
    }
}
