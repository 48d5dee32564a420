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
        assertTrue(c.toJson().contains("\"wireDtype\" : \"bf16\""), c.toJson());
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
        assertError(f, List.of("mode=federated"), "unknown mode 'federated'");
        assertError(f, List.of("split.wireDtype=int8"), "split.wireDtype");
        assertError(f, List.of("split.serverDevice=tpu"), "unknown split.serverDevice 'tpu' (expected auto, cpu or gpu)");
        assertError(f, List.of("optimizer.lr=-1"), "optimizer.lr must be > 0");
        assertError(f, List.of("split.tls.certChain=\"/x.pem\""), "split.tls set both");
        assertError(f, List.of("model=\"/no/such/model\""), "model: /no/such/model: model directory not found");
        assertError(f, List.of("train.rounds"), "--set train.rounds: expected key=value");
        assertError(write("split.cut = 2\n"), List.of(), "data.dir must name a `prepare` output directory");
        Path broken = write("train { rounds = 2\n");
        assertError(broken, List.of(), broken + ": 2: expecting a close");
        ConfigError missing = assertThrows(ConfigError.class, () -> TrainConfig.load(tmp.resolve("nope.conf"), List.of()));
        assertTrue(missing.getMessage().endsWith("nope.conf: config file not found"), missing.getMessage());
    }

    @Test
    void shippedExamplesLoad() {
        for (String name : List.of("demo.conf", "e2e-gpt2-small.conf", "e2e-gpt2-medium.conf")) {
            Path conf = Path.of("..", "conf", name);
            // the GPT-2 recipes name a model directory users download; point them at the built-in one
            TrainConfig c = TrainConfig.load(conf, List.of("model=\"builtin:tiny-gpt2\"", "data.dir=\"/d\"",
                    "split.cut=" + (name.equals("demo.conf") ? 2 : 3)));
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
