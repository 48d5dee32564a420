package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.model.weights.HalfFloat;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.testutil.Fixtures;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;
import org.splitlora.model.weights.SafetensorsWriter.Tensor;

/** HF directory variants (shards, F16, the transformer. prefix) and the errors for bad ones. */
@Tag("fixtures")
class ModelLoadingTest {

    static final int[] IDS = {1, 403, 407, 261, 378, 429, 267, 409};

    @TempDir
    Path tmp;

    private static Map<String, Tensor> readAll(Path file) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                out.put(n, new Tensor(f.shape(n), f.floats(n)));
            }
        }
        return out;
    }

    private Path copyConfig(Path from, String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String f : new String[] {"config.json", "tokenizer.json"}) {
            if (Files.exists(from.resolve(f))) {
                Files.copy(from.resolve(f), dir.resolve(f));
            }
        }
        return dir;
    }

    @Test
    void shardedCheckpointLoadsLikeTheSingleFile() throws IOException {
        Path dir = copyConfig(Fixtures.stories260k(), "sharded");
        Map<String, Tensor> all = readAll(Fixtures.stories260k().resolve("model.safetensors"));
        Map<String, Tensor> a = new LinkedHashMap<>();
        Map<String, Tensor> b = new LinkedHashMap<>();
        StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        int i = 0;
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            String shard = i++ % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            (shard.startsWith("model-00001") ? a : b).put(e.getKey(), e.getValue());
            index.append(i > 1 ? "," : "").append('"').append(e.getKey()).append("\":\"").append(shard).append('"');
        }
        index.append("}}");
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), a, TensorDType.F32, java.util.Map.of("format", "pt"));
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), b, TensorDType.F32, java.util.Map.of("format", "pt"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index);
        float[][] expected = ModelTestSupport.logits(ModelSource.of(Fixtures.stories260k().toString()), IDS);
        float[][] actual = ModelTestSupport.logits(ModelSource.of(dir.toString()), IDS);
        for (int t = 0; t < IDS.length; t++) {
            assertEquals(0, java.util.Arrays.compare(expected[t], actual[t]), "position " + t);
        }
    }

    @Test
    void f16WeightsAreConvertedInJava() throws IOException {
        Path dir = copyConfig(Fixtures.stories260k(), "f16");
        Map<String, Tensor> all = readAll(Fixtures.stories260k().resolve("model.safetensors"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), all, TensorDType.F16, java.util.Map.of("format", "pt"));
        Map<String, Tensor> back = readAll(dir.resolve("model.safetensors"));
        float[] orig = all.get("model.layers.0.self_attn.q_proj.weight").values();
        float[] half = back.get("model.layers.0.self_attn.q_proj.weight").values();
        for (int i = 0; i < orig.length; i++) {
            assertEquals(HalfFloat.toFloat(HalfFloat.fromFloat(orig[i])), half[i], 0.0);
            assertEquals(orig[i], half[i], Math.abs(orig[i]) * 1e-3 + 1e-7);
        }
        float[][] f32 = ModelTestSupport.logits(ModelSource.of(Fixtures.stories260k().toString()), IDS);
        float[][] f16 = ModelTestSupport.logits(ModelSource.of(dir.toString()), IDS);
        assertEquals(ModelTestSupport.topK(f32[IDS.length - 1], 1)[0], ModelTestSupport.topK(f16[IDS.length - 1], 1)[0]);
        assertTrue(Math.abs(f32[3][100] - f16[3][100]) < 0.05);
    }

    @Test
    void gpt2NamesWithTransformerPrefixLoad() throws IOException {
        Path dir = copyConfig(Fixtures.tinyGpt2(), "prefixed");
        Map<String, Tensor> prefixed = new LinkedHashMap<>();
        readAll(Fixtures.tinyGpt2().resolve("model.safetensors")).forEach((k, v) -> prefixed.put("transformer." + k, v));
        // real gpt2 checkpoints also carry causal-mask buffers, which the loader must ignore
        prefixed.put("transformer.h.0.attn.bias", new Tensor(new long[] {1, 1, 4, 4}, new float[16]));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), prefixed, TensorDType.F32, java.util.Map.of("format", "pt"));
        int[] ids = {50256, 464, 2068, 7586};
        float[][] expected = ModelTestSupport.logits(ModelSource.of(Fixtures.tinyGpt2().toString()), ids);
        float[][] actual = ModelTestSupport.logits(ModelSource.of(dir.toString()), ids);
        assertEquals(0, java.util.Arrays.compare(expected[3], actual[3]));
    }

    @Test
    void weightsTheConfigDoesNotDescribeAreAnError() throws IOException {
        // 4 layers of weights under a config.json that declares 3 (GPT-2) and 4 of 5 (Llama)
        Path gpt2 = copyConfig(Fixtures.tinyGpt2(), "gpt2-3-of-4");
        Files.copy(Fixtures.tinyGpt2().resolve("model.safetensors"), gpt2.resolve("model.safetensors"));
        Files.writeString(gpt2.resolve("config.json"), Files.readString(gpt2.resolve("config.json")).replace("\"n_layer\": 4", "\"n_layer\": 3"));
        assertMessage(gpt2, gpt2.resolve("model.safetensors") + ": 12 tensor(s) the model config.json describes (3 layers) does not use:"
                + " h.3.attn.c_attn.bias, h.3.attn.c_attn.weight, h.3.attn.c_proj.bias, h.3.attn.c_proj.weight, h.3.ln_1.bias, ...");
        Path llama = copyConfig(Fixtures.stories260k(), "llama-4-of-5");
        Files.copy(Fixtures.stories260k().resolve("model.safetensors"), llama.resolve("model.safetensors"));
        Files.writeString(llama.resolve("config.json"),
                Files.readString(llama.resolve("config.json")).replace("\"num_hidden_layers\": 5", "\"num_hidden_layers\": 4"));
        assertMessage(llama, ": 9 tensor(s) the model config.json describes (4 layers) does not use: model.layers.4.input_layernorm.weight,");

        // what real checkpoints carry beside the weights is no error: GPT-2's mask buffers, a tied head saved twice, rotary buffers
        Path buffers = copyConfig(Fixtures.tinyGpt2(), "gpt2-buffers");
        Map<String, Tensor> w = readAll(Fixtures.tinyGpt2().resolve("model.safetensors"));
        w.put("h.0.attn.bias", new Tensor(new long[] {1, 1, 4, 4}, new float[16]));
        w.put("h.0.attn.masked_bias", new Tensor(new long[] {1}, new float[] {-1e4f}));
        w.put("lm_head.weight", w.get("wte.weight"));
        SafetensorsWriter.write(buffers.resolve("model.safetensors"), w, TensorDType.F32, java.util.Map.of("format", "pt"));
        int[] ids = {50256, 464, 2068, 7586};
        assertEquals(0, java.util.Arrays.compare(ModelTestSupport.logits(ModelSource.of(Fixtures.tinyGpt2().toString()), ids)[3],
                ModelTestSupport.logits(ModelSource.of(buffers.toString()), ids)[3]));
        Path rotary = copyConfig(Fixtures.stories260k(), "llama-rotary");
        Map<String, Tensor> l = readAll(Fixtures.stories260k().resolve("model.safetensors"));
        l.put("model.layers.0.self_attn.rotary_emb.inv_freq", new Tensor(new long[] {4}, new float[] {1, 0.1f, 0.01f, 0.001f}));
        SafetensorsWriter.write(rotary.resolve("model.safetensors"), l, TensorDType.F32, java.util.Map.of("format", "pt"));
        assertEquals(0, java.util.Arrays.compare(ModelTestSupport.logits(ModelSource.of(Fixtures.stories260k().toString()), IDS)[3],
                ModelTestSupport.logits(ModelSource.of(rotary.toString()), IDS)[3]));
    }

    @Test
    void modelDirectoryByHadoopUriIsCopiedOnceAndLoadsTheSameModel() {
        String uri = Fixtures.tinyGpt2().toAbsolutePath().normalize().toUri().toString();
        int[] ids = {50256, 464, 2068, 7586};
        float[][] expected = ModelTestSupport.logits(ModelSource.of(Fixtures.tinyGpt2().toString()), ids);
        ModelSource remote = ModelSource.of(uri);
        assertTrue(remote.directory().toString().contains("splitlora-models"), remote.directory().toString());
        assertEquals(0, java.util.Arrays.compare(expected[3], ModelTestSupport.logits(remote, ids)[3]));
        assertEquals(remote.directory(), ModelSource.of(uri).directory(), "one copy per JVM");
        ModelLoadException missing = org.junit.jupiter.api.Assertions.assertThrows(ModelLoadException.class,
                () -> ModelSource.of(tmp.resolve("absent").toUri().toString()));
        assertTrue(missing.getMessage().endsWith("model directory not found"), missing.getMessage());
    }

    @Test
    void badDirectoriesFailWithMessagesNamingTheProblem() throws IOException {
        Path noConfig = Files.createDirectories(tmp.resolve("no-config"));
        Files.copy(Fixtures.tinyGpt2().resolve("model.safetensors"), noConfig.resolve("model.safetensors"));
        assertMessage(noConfig, "config.json not found");

        Path bert = copyConfig(Fixtures.tinyGpt2(), "bert");
        Files.writeString(bert.resolve("config.json"), "{\"model_type\": \"bert\", \"hidden_size\": 32}");
        assertMessage(bert, "unsupported model_type 'bert'");

        Path truncated = copyConfig(Fixtures.tinyGpt2(), "truncated");
        Files.copy(Fixtures.tinyGpt2().resolve("model.safetensors"), truncated.resolve("model.safetensors"));
        try (FileChannel ch = FileChannel.open(truncated.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        String m = assertMessage(truncated, "truncated");
        assertTrue(m.contains("model.safetensors"), m);

        Path wrongShape = copyConfig(Fixtures.tinyGpt2(), "wrong-shape");
        Files.copy(Fixtures.tinyGpt2().resolve("model.safetensors"), wrongShape.resolve("model.safetensors"));
        Files.writeString(wrongShape.resolve("config.json"),
                Files.readString(wrongShape.resolve("config.json")).replace("\"n_inner\": null", "\"n_inner\": 100"));
        assertMessage(wrongShape, "tensor 'h.0.mlp.c_fc.weight' has shape [32, 128], expected [32, 100]");

        Path noWeights = copyConfig(Fixtures.tinyGpt2(), "no-weights");
        assertMessage(noWeights, "no model.safetensors");

        ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelSource.of("builtin:nope"));
        assertTrue(e.getMessage().contains("unknown built-in model 'builtin:nope'"));
    }

    private static String assertMessage(Path dir, String expected) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> {
            ModelSource s = ModelSource.of(dir.toString());
            try (ai.djl.ndarray.NDManager root = ai.djl.ndarray.NDManager.newBaseManager()) {
                s.loadWhole(root).close();
            }
        });
        assertTrue(e.getMessage().contains(expected), "message was: " + e.getMessage());
        return e.getMessage();
    }
}
