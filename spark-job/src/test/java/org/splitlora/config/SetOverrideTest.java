package org.splitlora.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --set} takes what the user typed, and errors name the --set (not the file) and only keys that exist. */
class SetOverrideTest {

    private static final String MODEL = "model=builtin:tiny-gpt2";
    private static final String DATA = "data.dir=/d";

    @TempDir
    Path tmp;

    @Test
    void aStringKeyTakesTheValueAsTyped() {
        // unquoted, HOCON would end the value at the comment "//" and write into a local folder named "hdfs:"
        TrainConfig c = TrainConfig.load(null, List.of(MODEL, DATA, "out=hdfs://nn:9000/runs/x"));
        assertEquals("hdfs://nn:9000/runs/x", c.out());
        assertEquals("/d", c.data().dir());
        assertEquals("s3a://bucket/a b", TrainConfig.load(null, List.of(MODEL, DATA, "out=s3a://bucket/a b")).out());
        assertEquals("quoted", TrainConfig.load(null, List.of(MODEL, DATA, "out=\"quoted\"")).out(), "HOCON quoting still works");
        assertEquals(List.of("q", "v"), TrainConfig.load(null, List.of(MODEL, DATA, "lora.targets=[q,v]")).resolved()
                .getStringList("lora.targets"), "other types are HOCON");
    }

    @Test
    void numbersMustBeFinite() {
        for (String v : List.of("Infinity", "-Infinity", "NaN", "1e400")) {
            ConfigError e = assertThrows(ConfigError.class, () -> TrainConfig.load(null, List.of(MODEL, DATA, "optimizer.lr=" + v)));
            assertTrue(e.getMessage().startsWith("--set optimizer.lr=" + v + ": optimizer.lr must be a finite number"), e.getMessage());
        }
    }

    @Test
    void errorsNameTheSetNotTheFile() throws IOException {
        Path conf = Files.writeString(tmp.resolve("run.conf"), "model = \"builtin:tiny-gpt2\"\ndata.dir = \"/d\"\ntrain.rounds = 3\n");
        ConfigError range = assertThrows(ConfigError.class, () -> TrainConfig.load(conf, List.of("train.batchSize=0")));
        assertTrue(range.getMessage().startsWith("--set train.batchSize=0: train.batchSize must be >= 1"), range.getMessage());
        ConfigError type = assertThrows(ConfigError.class, () -> TrainConfig.load(conf, List.of("train.rounds=many")));
        assertTrue(type.getMessage().startsWith("--set train.rounds=many"), type.getMessage());
        assertFalse(type.getMessage().contains("run.conf"), type.getMessage());
        ConfigError unknown = assertThrows(ConfigError.class, () -> TrainConfig.load(conf, List.of("split.server.bind=0.0.0.0")));
        assertTrue(unknown.getMessage().startsWith("--set split.server.bind=0.0.0.0: unknown key 'split.server.bind'"),
                unknown.getMessage());
        ConfigError fromFile = assertThrows(ConfigError.class, () -> TrainConfig.load(
                Files.writeString(tmp.resolve("bad.conf"), "train.batchSize = 0\n"), List.of(MODEL, DATA)));
        assertTrue(fromFile.getMessage().startsWith(tmp.resolve("bad.conf") + ": train.batchSize must be >= 1"), fromFile.getMessage());
    }
}
