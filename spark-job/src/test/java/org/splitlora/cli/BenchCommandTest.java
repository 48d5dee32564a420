package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.testutil.SyntheticShards;

/** {@code bench} end to end on the built-in model: the variants it runs and what it derives from them. */
class BenchCommandTest {

    private static final String MODEL = "builtin:tiny-gpt2";

    @TempDir
    Path tmp;

    @Test
    void pipelineDepthsAreComparedWithLockStepOnTheSameWork() throws IOException {
        Path data = SyntheticShards.prepare(tmp, 60, 3, 3, MODEL);
        Path json = tmp.resolve("bench.json");
        CliRun r = CliRun.of("bench", "--set", "model=" + MODEL, "--set", "data.dir=\"" + data + "\"", "--set", "out=\"" + tmp.resolve("out") + "\"",
                "--set", "train.rounds=2", "--set", "train.localSteps=2", "--set", "train.batchSize=4", "--set", "train.microBatchSize=1",
                "--set", "split.cut=2", "--set", "federation.clientsPerRound=3", "--set", "data.maxValidExamples=4",
                "--modes", "central,sfl", "--pipeline-depths", "1,3", "--repeats", "1", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonObject report = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        JsonObject modes = report.getAsJsonObject("modes");
        assertEquals(java.util.Set.of("central", "sfl:depth=1", "sfl:depth=3"), modes.keySet(), "depths apply to split modes only");
        // the same arithmetic at every depth
        assertEquals(modes.getAsJsonObject("sfl:depth=1").get("final_val_loss").getAsDouble(),
                modes.getAsJsonObject("sfl:depth=3").get("final_val_loss").getAsDouble(), 0.0);
        JsonObject vs = report.getAsJsonObject("pipelined_vs_lock_step").getAsJsonObject("sfl:depth=3");
        double ratio = vs.get("round_seconds_ratio").getAsDouble();
        assertEquals(modes.getAsJsonObject("sfl:depth=3").get("round_seconds").getAsDouble()
                / modes.getAsJsonObject("sfl:depth=1").get("round_seconds").getAsDouble(), ratio, 1e-12);
        assertTrue(report.getAsJsonObject("tokens_per_s_ratio").has("sfl:depth=3_vs_central"));

        CliRun noSplitMode = CliRun.of("bench", "--set", "model=" + MODEL, "--set", "data.dir=\"" + data + "\"",
                "--modes", "central", "--pipeline-depths", "2");
        assertTrue(noSplitMode.code() != 0 && noSplitMode.err().contains("--pipeline-depths compares split modes"), noSplitMode.err());
    }
}
