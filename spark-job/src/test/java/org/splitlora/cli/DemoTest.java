package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command, shortened: synthetic data → prepare → SFL on Spark → PEFT adapter. */
class DemoTest {

    @TempDir
    Path tmp;

    @Test
    void demoTrainsSplitLoraEndToEndAndLowersTheValidationLoss() throws IOException {
        Path out = tmp.resolve("demo");
        CliRun r = CliRun.of("demo", "--out", out.toString(), "--examples", "120", "--set", "train.rounds=2",
                "--set", "train.localSteps=4");
        assertEquals(0, r.code(), r.err());
        JsonObject summary = JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
        double before = summary.get("val_loss_before").getAsDouble();
        double after = summary.get("val_loss_after").getAsDouble();
        assertTrue(after < before - 0.1, "validation loss " + before + " -> " + after);
        JsonObject run = JsonParser.parseString(Files.readString(out.resolve("run.json"))).getAsJsonObject();
        assertEquals("sfl", run.get("mode").getAsString());
        assertEquals(3, run.getAsJsonObject("data").get("clients").getAsInt());
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(2, metrics.size());
        JsonObject last = JsonParser.parseString(metrics.get(1)).getAsJsonObject();
        assertEquals(after, last.get("val_loss").getAsDouble(), 1e-4, "the exported adapter is the trained model");
        assertTrue(last.get("bytes_up").getAsLong() > 0);
        assertTrue(Files.isRegularFile(out.resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("checkpoint/state.json")));
        assertEquals(1, CliRun.of("demo", "--out", out.toString()).code(), "a second run into the same directory is refused");
    }
}
