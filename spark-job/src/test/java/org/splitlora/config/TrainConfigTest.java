package org.splitlora.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.model.DeviceChoice;
import org.splitlora.split.WireDtype;

/** Loading and validating run configurations: errors name the file and key. */
class TrainConfigTest {

    @TempDir
    Path tmp;

    @Test
    void fileKeysOverrideDefaultsAndSetOverridesTheFile() throws IOException {
        Path f = write("data.dir = \"/data/e2e\"\nsplit { cut = 1, wireDtype = bf16 }\ntrain.rounds = 3\n");
        TrainConfig c = TrainConfig.load(f, List.of("train.rounds=7", "lora.targets=[q,v,o]"));
        assertEquals(7, c.train().rounds());
        assertEquals(1, c.split().cut());
        assertEquals(WireDtype.BF16, c.split().wireDtype());
        assertEquals(3, c.lora().targets().size());
        assertEquals(RunMode.SFL, c.mode());
        assertEquals(2e-4, c.optimizer().learningRate(), 0);
        assertEquals(java.time.Duration.ofSeconds(300), c.split().stepTimeout());
        assertEquals(1, c.split().pipelineDepth(), "lock-step by default");
        // devices: clients on the CPU, the driver's whole model where the server is, unless told
        assertEquals(new TrainConfig.Devices(DeviceChoice.AUTO, DeviceChoice.CPU, DeviceChoice.AUTO), c.devices());
        assertEquals(new TrainConfig.Devices(DeviceChoice.CPU, DeviceChoice.GPU, DeviceChoice.CPU),
                TrainConfig.load(f, List.of("devices.server=cpu", "devices.client=gpu")).devices());
        assertEquals(DeviceChoice.GPU, TrainConfig.load(f, List.of("devices.server=cpu", "devices.eval=gpu")).devices().eval());
        assertTrue(c.toJson().contains("\"wireDtype\" : \"bf16\""), c.toJson());
        // splitft: cuts in [minCut, maxCut (0 = layers - 1)], the reduced rank follows each cut
        TrainConfig ft = TrainConfig.load(f, List.of("mode=splitft", "split.cut=2", "splitft.policy=splitft", "lora.rank=8",
                "lora.cutRank=4", "clients.speed=[1, 0.25]"));
        assertEquals(new TrainConfig.SplitFt(TrainConfig.CutPolicyKind.SPLITFT, 1, 3, 1, 4), ft.splitft());
        assertEquals(List.of(4, 4, 8), List.of(ft.loraAtCut(2).rank(1), ft.loraAtCut(1).rank(0), ft.loraAtCut(3).rank(0)));
        assertEquals(0.25, ft.clientSpeed(1), 0);
        assertEquals(1.0, ft.clientSpeed(4), 0);
        // the reduced rank sits on both sides of the cut
        TrainConfig reduced = TrainConfig.load(f, List.of("lora.cutRank=2", "split.cut=2"));
        assertEquals(List.of(4, 2, 2, 4), List.of(reduced.lora().rank(0), reduced.lora().rank(1), reduced.lora().rank(2),
                reduced.lora().rank(3)));
    }

    @Test
    void badConfigurationsAreErrorsNamingTheKey() throws IOException {
        Path f = write("data.dir = \"/d\"\n");
        assertError(f, List.of("train.batchsize=8"), "unknown key 'train.batchsize'");
        assertError(f, List.of("train.rounds=many"), "train.rounds");
        assertError(f, List.of("split.cut=4"), "split.cut must be in [1, 3]");
        assertError(f, List.of("split.cut=0"), "split.cut");
        assertError(f, List.of("lora.rank=0"), "lora.rank must be >= 1, got 0");
        assertError(f, List.of("lora.cutRank=5"), "lora.cutRank must be in [1, lora.rank (4)] or 0 (= lora.rank), got 5");
        assertError(f, List.of("lora.targets=[q,gate]"), "lora.targets GPT-2 has no gate projection");
        assertError(f, List.of("lora.targets=[q,x]"), "unknown LoRA target 'x'");
        assertError(f, List.of("train.microBatchSize=16"), "train.microBatchSize must be <= train.batchSize (8)");
        assertError(f, List.of("split.pipelineDepth=0"), "split.pipelineDepth must be >= 1, got 0");
        assertError(f, List.of("mode=federated"), "unknown mode 'federated'");
        assertError(f, List.of("split.wireDtype=int8"), "split.wireDtype");
        assertError(f, List.of("devices.server=tpu"), "unknown devices.server 'tpu' (expected auto, cpu or gpu)");
        assertError(f, List.of("devices.eval=tpu"), "devices.eval must be server, auto, cpu or gpu, got 'tpu'");
        assertError(f, List.of("split.serverDevice=cpu"), "unknown key 'split.serverDevice' (now devices.server)");
        assertError(f, List.of("optimizer.lr=-1"), "optimizer.lr must be > 0");
        assertError(f, List.of("split.tls.certChain=\"/x.pem\""), "split.tls set both");
        assertError(f, List.of("model=\"/no/such/model\""), "model: /no/such/model: model directory not found");
        assertError(f, List.of("train.rounds"), "--set train.rounds: expected key=value");
        assertError(write("split.cut = 2\n"), List.of(), "data.dir must name a `prepare` output directory");
        // splitft: tiny GPT-2 has 4 layers
        assertError(f, List.of("mode=splitft", "splitft.minCut=4"), "splitft.minCut must be in [1, 3]");
        assertError(f, List.of("mode=splitft", "splitft.minCut=2", "splitft.maxCut=1"),
                "splitft.maxCut must be in [splitft.minCut (2), 3] or 0 (= 3), got 1");
        assertError(f, List.of("mode=splitft", "splitft.gamma=0"), "splitft.gamma must be >= 1");
        assertError(f, List.of("mode=splitft", "split.cut=3", "splitft.maxCut=2"),
                "split.cut (every client's first cut) must be in [splitft.minCut, splitft.maxCut] = [1, 2], got 3");
        assertError(f, List.of("mode=sfl", "splitft.policy=equalize"), "splitft.policy moves per-client cuts in mode splitft only");
        assertError(f, List.of("mode=splitft", "splitft.policy=fastest"), "unknown splitft.policy 'fastest'");
        assertError(f, List.of("mode=splitft", "clients.speed=[1, 0]"), "clients.speed [1] must be in (0, 1]");
        assertError(f, List.of("mode=splitft", "split.serverVersion=v1", "lora.cutRank=8", "lora.rank=4"), "lora.cutRank");
        Path broken = write("train { rounds = 2\n");
        assertError(broken, List.of(), broken + ": 2: expecting a close");
        ConfigError missing = assertThrows(ConfigError.class, () -> TrainConfig.load(tmp.resolve("nope.conf"), List.of()));
        assertTrue(missing.getMessage().endsWith("nope.conf: config file not found"), missing.getMessage());
    }

    @Test
    void shippedExamplesLoad() {
        for (String name : List.of("demo.conf", "e2e-gpt2-small.conf", "e2e-gpt2-medium.conf", "splitft-gpt2-small.conf",
                "splitft-stories260k-hetero.conf", "fedopt-stories260k.conf", "pipeline-stories260k-slow.conf")) {
            Path conf = Path.of("..", "conf", name);
            // the recipes name a model directory users download; point them at the built-in one (4 blocks)
            TrainConfig c = TrainConfig.load(conf, List.of("model=\"builtin:tiny-gpt2\"", "data.dir=\"/d\"", "splitft.maxCut=0", "lora.targets=[q,v]",
                    "split.cut=" + (name.startsWith("e2e") ? 3 : 2)));
            assertTrue(c.train().localSteps() > 0, name);
        }
    }

    private void assertError(Path f, List<String> sets, String expected) {
        ConfigError e = assertThrows(ConfigError.class, () -> TrainConfig.load(f, sets));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }

    private int files;

    private Path write(String text) throws IOException {
        Path p = tmp.resolve("c" + (files++) + ".conf");
        Files.writeString(p, text);
        return p;
    }
}
