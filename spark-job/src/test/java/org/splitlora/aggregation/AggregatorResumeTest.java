package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.ChildJvm;
import org.splitlora.cli.CliRun;
import org.splitlora.federation.Checkpoint;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.store.RunStore;
import org.splitlora.testutil.SyntheticShards;
import org.splitlora.util.KillPoint;

/**
 * A stateful aggregator (FedAdam's moments) survives a kill: train killed in round 3 resumes from
 * round 2's checkpoint to the uninterrupted run's losses and adapter bit for bit. Without the
 * restored moments round 3 would move differently.
 */
class AggregatorResumeTest {

    @TempDir
    Path tmp;

    @Test
    void fedAdamKilledMidRunResumesToTheUninterruptedRun() throws Exception {
        Path data = SyntheticShards.prepare(tmp, 90, 5, 2, "builtin:tiny-gpt2");
        Path whole = tmp.resolve("uninterrupted");
        CliRun ref = CliRun.of(args(whole, data));
        assertEquals(0, ref.code(), ref.err());

        Path killed = tmp.resolve("killed");
        List<String> cmd = new ArrayList<>(ChildJvm.command(args(killed, data)));
        cmd.add(1, "-D" + KillPoint.PROPERTY + "=client.step#9"); // round 3: 2 clients x 2 local steps a round in this JVM
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("killed.log").toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the child did not end");
        assertEquals(137, p.exitValue(), Files.readString(tmp.resolve("killed.log")));
        RunStore run = RunStore.at(killed);
        assertEquals(2, Checkpoint.latest(run).orElseThrow());
        try (SafetensorsFile st = SafetensorsFile.open(killed.resolve(Checkpoint.directory(2)).resolve("tensors.safetensors"))) {
            assertTrue(st.names().stream().anyMatch(n -> n.startsWith("aggregator.m.layers.0.")), "FedAdam's moments are checkpointed");
        }

        CliRun resumed = CliRun.of("train", "--resume", killed.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(losses(whole), losses(killed));
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(killed.resolve("adapter/adapter_model.safetensors")));
    }

    private static String[] args(Path out, Path data) {
        return new String[] {"train", "--set", "out=" + out, "--set", "model=builtin:tiny-gpt2", "--set", "data.dir=" + data,
                "--set", "mode=sfl", "--set", "split.serverVersion=v1", "--set", "split.cut=2", "--set", "train.rounds=4",
                "--set", "train.localSteps=2", "--set", "train.batchSize=4", "--set", "train.microBatchSize=2",
                "--set", "lora.targets=[q,v]", "--set", "lora.rank=4", "--set", "data.maxValidExamples=8",
                "--set", "train.evalEvery=1", "--set", "federation.aggregation=fedadam"};
    }

    private static List<String> losses(Path run) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            out.add(o.get("round") + " " + o.get("train_loss") + " " + o.get("val_loss"));
        }
        return out;
    }
}
