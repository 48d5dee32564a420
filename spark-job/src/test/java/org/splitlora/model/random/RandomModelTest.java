package org.splitlora.model.random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.datasets.tokenize.HfTokenizer;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.ModelSource;
import org.splitlora.model.ModelTestSupport;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.config.RopeScaling;
import org.splitlora.model.weights.HalfFloat;
import org.splitlora.model.weights.HfCheckpoint;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.model.weights.TensorDType;

/** random-model: published shapes, loadable seeded weights, byte-level tokenizers, and an --out that destroys nothing. */
class RandomModelTest {

    private static final String TEXT = "Grüße aus Köln — 東京の café, naïve 🙂 ok";

    @TempDir
    Path tmp;

    /** GPT-2's parameters from its published dims: embeddings, positions, per block 2 LayerNorms, c_attn, c_proj, c_fc, c_proj, and ln_f. */
    private static long gpt2Parameters(long vocab, long positions, long d, long layers) {
        long block = 2 * (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d);
        return vocab * d + positions * d + layers * block + 2 * d;
    }

    /** A Llama-style decoder's parameters: embeddings (and an untied head), per block 2 RMSNorms, q k v o, gate up down, q/k norms. */
    private static long llamaParameters(long vocab, long d, long layers, long heads, long kvHeads, long headDim, long ff,
                                        boolean tied, boolean qkNorm) {
        long block = 2 * d + d * heads * headDim + 2 * d * kvHeads * headDim + heads * headDim * d + 3 * d * ff
                + (qkNorm ? 2 * headDim : 0);
        return vocab * d * (tied ? 1 : 2) + layers * block + d;
    }

    private static long expectedParameters(String shape, int layers) {
        return switch (shape) {
            case "gpt2" -> gpt2Parameters(50257, 1024, 768, layers);
            case "gpt2-medium" -> gpt2Parameters(50257, 1024, 1024, layers);
            case "llama-3.2-1b" -> llamaParameters(128256, 2048, layers, 32, 8, 64, 8192, true, false);
            case "qwen3-0.6b" -> llamaParameters(151936, 1024, layers, 16, 8, 128, 3072, true, true);
            case "tinyllama-1.1b" -> llamaParameters(32000, 2048, layers, 32, 4, 64, 5632, false, false);
            default -> throw new IllegalArgumentException(shape);
        };
    }

    @Test
    void everyShapeIsItsPublishedConfigWithItsPublishedParameterCount() {
        Map<String, Long> published = Map.of("gpt2", 124_439_808L, "gpt2-medium", 354_823_168L,
                "llama-3.2-1b", 1_235_814_400L, "qwen3-0.6b", 596_049_920L, "tinyllama-1.1b", 1_100_048_384L);
        assertEquals(published.keySet(), Set.copyOf(ModelShapes.names()));
        for (String name : ModelShapes.names()) {
            ModelShapes.Shape s = ModelShapes.get(name);
            ModelConfig full = s.parse(0);
            assertEquals(expectedParameters(name, full.numLayers()), published.get(name), name);
            assertEquals(published.get(name), RandomModelWriter.parameters(RandomModelWriter.plan(full)), name);
            ModelConfig one = s.parse(1);
            assertEquals(1, one.numLayers());
            assertEquals(expectedParameters(name, 1), RandomModelWriter.parameters(RandomModelWriter.plan(one)), name);
            JsonObject cfg = s.config(3, "bfloat16");
            String layersKey = name.startsWith("gpt2") ? "n_layer" : "num_hidden_layers";
            assertEquals(3, cfg.get(layersKey).getAsInt());
            assertEquals(s.publishedLayers(), s.config(0, null).get(layersKey).getAsInt());
        }
        String help = CliRun.of("random-model", "--help").out();
        for (String name : ModelShapes.names()) {
            assertTrue(help.contains(String.format("  %-15s " + ModelShapes.get(name).hubRepo() + ",", name)), help);
        }
        ModelConfig gpt2 = ModelShapes.get("gpt2").parse(0);
        assertEquals(List.of(768, 12, 12, 50257, 1024), List.of(gpt2.hiddenSize(), gpt2.numLayers(), gpt2.numHeads(),
                gpt2.vocabSize(), gpt2.maxPositions()));
        ModelConfig medium = ModelShapes.get("gpt2-medium").parse(0);
        assertEquals(List.of(1024, 24, 16), List.of(medium.hiddenSize(), medium.numLayers(), medium.numHeads()));
        ModelConfig llama = ModelShapes.get("llama-3.2-1b").parse(0);
        assertEquals("llama", llama.architecture().modelType());
        assertEquals(new ModelConfig.Rope(500000, new RopeScaling.Llama3(32, 1, 4, 8192)), llama.rope());
        assertEquals(List.of(2048, 16, 32, 8, 8192, 128256, 131072, 128000, 128001), List.of(llama.hiddenSize(),
                llama.numLayers(), llama.numHeads(), llama.numKvHeads(), llama.intermediateSize(), llama.vocabSize(),
                llama.maxPositions(), llama.bosTokenId(), llama.eosTokenId()));
        assertTrue(llama.tieWordEmbeddings());
        assertEquals(1e-5, llama.normEps());
        ModelConfig qwen = ModelShapes.get("qwen3-0.6b").parse(0);
        assertEquals("qwen3", qwen.architecture().modelType());
        assertEquals(List.of(1024, 28, 16, 8, 128, 3072, 151936, 40960, 151643, 151645), List.of(qwen.hiddenSize(),
                qwen.numLayers(), qwen.numHeads(), qwen.numKvHeads(), qwen.headDim(), qwen.intermediateSize(),
                qwen.vocabSize(), qwen.maxPositions(), qwen.bosTokenId(), qwen.eosTokenId()));
        assertEquals(new ModelConfig.Rope(1000000, new RopeScaling.None()), qwen.rope());
        assertEquals(1e-6, qwen.normEps());
        ModelConfig tiny = ModelShapes.get("tinyllama-1.1b").parse(0);
        assertEquals(List.of(2048, 22, 32, 4, 5632, 32000, 2048, 1, 2), List.of(tiny.hiddenSize(), tiny.numLayers(),
                tiny.numHeads(), tiny.numKvHeads(), tiny.intermediateSize(), tiny.vocabSize(), tiny.maxPositions(),
                tiny.bosTokenId(), tiny.eosTokenId()));
        assertFalse(tiny.tieWordEmbeddings());
        assertEquals(new ModelConfig.Rope(10000, new RopeScaling.None()), tiny.rope());
    }

    @Test
    void byteLevelTokenizersRoundTripUtf8AndCarryTheSpecialTokens() {
        for (String name : List.of("llama-3.2-1b", "qwen3-0.6b", "tinyllama-1.1b")) {
            ModelShapes.Shape s = ModelShapes.get(name);
            ModelConfig c = s.parse(1);
            byte[] json = s.tokenizerJson().getBytes(StandardCharsets.UTF_8);
            try (TextTokenizer t = HfTokenizer.fromJson(json, name, c.bosTokenId(), c.eosTokenId())) {
                int[] plain = t.encode(TEXT, false);
                assertEquals(TEXT.getBytes(StandardCharsets.UTF_8).length, plain.length, name + ": one token per byte");
                assertEquals(TEXT, t.decode(plain), name);
                int[] special = t.encode(TEXT, true);
                if (s.prependBos()) {
                    assertEquals(c.bosTokenId(), special[0], name);
                    assertArrayEquals(plain, Arrays.copyOfRange(special, 1, special.length), name);
                } else {
                    assertArrayEquals(plain, special, name);
                }
                int[] withEos = Arrays.copyOf(special, special.length + 1);
                withEos[special.length] = c.eosTokenId();
                assertEquals(TEXT, t.decode(withEos), name + ": special tokens are left out");
                assertTrue(t.vocabSize() <= c.vocabSize(), name + ": " + t.vocabSize());
                if (!name.startsWith("tiny")) {
                    assertEquals(c.eosTokenId() + 1, t.vocabSize(), name + ": the byte symbols, then the special tokens up to EOS");
                }
                for (int id : plain) {
                    assertTrue(id >= 0 && id < t.vocabSize());
                }
            }
        }
        // Llama 2's <unk>, <s>, </s> hold ids 0-2: the bytes follow
        ModelShapes.Shape tiny = ModelShapes.get("tinyllama-1.1b");
        try (TextTokenizer t = HfTokenizer.fromJson(tiny.tokenizerJson().getBytes(StandardCharsets.UTF_8),
                "tiny", 1, 2)) {
            assertEquals(259, t.vocabSize());
            assertArrayEquals(new int[] {1, 'A' + 3}, t.encode("A", true));
        }
    }

    private Path gpt2(String dirName, long seed, TensorDType dtype, long maxShard) throws IOException {
        Path dir = tmp.resolve(dirName);
        RandomModelWriter.write(new RandomModelWriter.Request(ModelShapes.get("gpt2"), 1, dtype, seed, dir, false, maxShard));
        return dir;
    }

    @Test
    void gpt2OneLayerIsSeededLoadsAndStoresBf16AsRoundedFp32() throws IOException {
        CliRun cli = CliRun.of("random-model", "--shape", "gpt2", "--layers", "1", "--seed", "1", "--out",
                tmp.resolve("a").toString());
        assertEquals(0, cli.code(), cli.err());
        long params = expectedParameters("gpt2", 1);
        String line = cli.out().strip();
        assertEquals(1, line.lines().count(), line);
        Path a = tmp.resolve("a");
        long bytes = Files.size(a.resolve("model.safetensors"));
        assertTrue(bytes > 2 * params && bytes < 2 * params + 4096, "bf16 data and a header: " + bytes);
        assertTrue(line.matches(java.util.regex.Pattern.quote("wrote gpt2 (1 layer, bf16, seed 1) to " + a + ": "
                + String.format(java.util.Locale.ROOT, "%,d parameters, %,d bytes of weights in 1 file(s), ", params, bytes))
                + "\\d+\\.\\d s"), line);
        assertEquals(Set.of("config.json", "model.safetensors", RandomModelWriter.MARKER), files(a),
                "GPT-2 uses the built-in BPE: no tokenizer.json");
        JsonObject meta = JsonParser.parseString(Files.readString(a.resolve(RandomModelWriter.MARKER))).getAsJsonObject();
        assertEquals("gpt2", meta.get("shape").getAsString());
        assertEquals(1, meta.get("seed").getAsLong());
        assertEquals("bf16", meta.get("dtype").getAsString());
        assertEquals(params, meta.get("parameters").getAsLong());
        JsonObject cfg = JsonParser.parseString(Files.readString(a.resolve("config.json"))).getAsJsonObject();
        assertEquals("bfloat16", cfg.get("torch_dtype").getAsString());
        assertEquals("GPT2LMHeadModel", cfg.getAsJsonArray("architectures").get(0).getAsString());

        Path b = gpt2("b", 1, TensorDType.BF16, RandomModelWriter.MAX_SHARD_BYTES);
        Path c = gpt2("c", 2, TensorDType.BF16, RandomModelWriter.MAX_SHARD_BYTES);
        byte[] weightsA = Files.readAllBytes(a.resolve("model.safetensors"));
        assertArrayEquals(weightsA, Files.readAllBytes(b.resolve("model.safetensors")), "same seed, same bytes");
        assertFalse(Arrays.equals(weightsA, Files.readAllBytes(c.resolve("model.safetensors"))), "another seed");
        assertEquals(Files.readString(a.resolve("config.json")), Files.readString(b.resolve("config.json")));

        // fp32, sharded at 60 MB: wte (154 MB) alone, then the other 31 MB: the same values before rounding
        Path d = gpt2("d", 1, TensorDType.F32, 60L << 20);
        assertEquals(Set.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", RandomModelWriter.MARKER), files(d));
        JsonObject index = JsonParser.parseString(Files.readString(d.resolve("model.safetensors.index.json"))).getAsJsonObject();
        assertEquals(4 * params, index.getAsJsonObject("metadata").get("total_size").getAsLong());
        JsonObject weightMap = index.getAsJsonObject("weight_map");
        assertEquals("model-00001-of-00002.safetensors", weightMap.get("transformer.wte.weight").getAsString());
        assertEquals("model-00002-of-00002.safetensors", weightMap.get("transformer.ln_f.bias").getAsString());
        try (SafetensorsFile bf = SafetensorsFile.open(a.resolve("model.safetensors")); HfCheckpoint fp = HfCheckpoint.open(d)) {
            assertEquals(new TreeSet<>(bf.names()), new TreeSet<>(fp.names()));
            long normal = 0;
            for (String n : bf.names()) {
                assertArrayEquals(fp.shape(n), bf.shape(n), n);
                float[] x = fp.floats(n);
                float[] y = bf.floats(n);
                for (int i = 0; i < x.length; i++) {
                    if (Float.floatToRawIntBits(HalfFloat.fromBFloat16(HalfFloat.toBFloat16(x[i]))) != Float.floatToRawIntBits(y[i])) {
                        throw new AssertionError(n + "[" + i + "]: bf16 " + y[i] + " is not fp32 " + x[i] + " rounded");
                    }
                }
                if (n.endsWith("c_fc.weight")) {
                    normal = x.length;
                    double sum = 0;
                    double sq = 0;
                    for (float v : x) {
                        sum += v;
                        sq += (double) v * v;
                    }
                    assertEquals(0, sum / x.length, 1e-3, n);
                    assertEquals(0.02, Math.sqrt(sq / x.length - (sum / x.length) * (sum / x.length)), 2e-4, n);
                }
                if (n.endsWith("ln_1.weight")) {
                    for (float v : x) {
                        assertEquals(1f, v, n);
                    }
                }
                if (n.endsWith(".bias")) {
                    for (float v : x) {
                        assertEquals(0f, v, n);
                    }
                }
            }
            assertEquals(768L * 3072, normal);
        }
        for (Path dir : List.of(a, d)) {
            ModelSource source = ModelSource.of(dir.toString());
            assertEquals("gpt2-bpe", source.tokenizerSpec().name());
            int[] ids = source.tokenizer().encode("The restaurant", false);
            float[][] logits = ModelTestSupport.logits(source, ids);
            assertEquals(50257, logits[0].length);
            for (float v : logits[ids.length - 1]) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void tinyLlamaOneLayerLoadsAndTokenizesAnyText() throws IOException {
        Path dir = tmp.resolve("tl1");
        RandomModelWriter.Result r = RandomModelWriter.write(new RandomModelWriter.Request(
                ModelShapes.get("tinyllama-1.1b"), 1, TensorDType.BF16, 7, dir, false));
        assertEquals(expectedParameters("tinyllama-1.1b", 1), r.parameters());
        assertEquals(Set.of("config.json", "model.safetensors", "tokenizer.json", RandomModelWriter.MARKER), files(dir));
        ModelSource source = ModelSource.of(dir.toString());
        assertEquals(1, source.config().numLayers());
        try (TextTokenizer t = source.tokenizer()) {
            int[] ids = t.encode(TEXT, true);
            assertEquals(1, ids[0]);
            assertEquals(TEXT, t.decode(ids));
            float[][] logits = ModelTestSupport.logits(source, Arrays.copyOf(ids, 6));
            assertEquals(32000, logits[5].length);
            for (float v : logits[5]) {
                assertTrue(Float.isFinite(v));
            }
        }
        assertNoLeftovers();
    }

    @Test
    void outIsNeverADirectoryItDidNotWrite() throws IOException {
        Path foreign = Files.createDirectories(tmp.resolve("foreign"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        CliRun refused = CliRun.of("random-model", "--shape", "gpt2", "--layers", "1", "--out", foreign.toString());
        assertEquals(1, refused.code());
        assertEquals("error: --out " + foreign + " is not empty (add --overwrite to replace a model random-model wrote"
                + " there)", refused.err().strip());
        CliRun overwrite = CliRun.of("random-model", "--shape", "gpt2", "--layers", "1", "--out", foreign.toString(),
                "--overwrite");
        assertEquals(1, overwrite.code());
        assertEquals("error: --out " + foreign + " was not written by random-model (it has no " + RandomModelWriter.MARKER
                + "); not replacing it", overwrite.err().strip());
        assertEquals("mine", Files.readString(foreign.resolve("notes.txt")));

        // a file beside a model it wrote is not its own either
        Path own = gpt2("own", 1, TensorDType.BF16, RandomModelWriter.MAX_SHARD_BYTES);
        Files.writeString(own.resolve("eval.txt"), "results");
        CliRun beside = CliRun.of("random-model", "--shape", "gpt2", "--layers", "1", "--out", own.toString(), "--overwrite");
        assertEquals(1, beside.code());
        assertTrue(beside.err().strip().endsWith("holds eval.txt, which random-model did not write; not replacing it"),
                beside.err());
        Files.delete(own.resolve("eval.txt"));
        CliRun replaced = CliRun.of("random-model", "--shape", "gpt2", "--layers", "1", "--seed", "2", "--out",
                own.toString(), "--overwrite");
        assertEquals(0, replaced.code(), replaced.err());
        assertEquals(2, JsonParser.parseString(Files.readString(own.resolve(RandomModelWriter.MARKER)))
                .getAsJsonObject().get("seed").getAsLong());

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertEquals(1, CliRun.of("random-model", "--shape", "gpt2", "--out", file.toString()).code());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(0, CliRun.of("random-model", "--shape", "gpt2", "--layers", "1", "--out", empty.toString()).code());
        assertTrue(Files.isRegularFile(empty.resolve("model.safetensors")));

        CliRun badShape = CliRun.of("random-model", "--shape", "gpt5", "--out", tmp.resolve("x").toString());
        assertEquals(2, badShape.code());
        assertTrue(badShape.err().contains("unknown shape 'gpt5' (available: gpt2, gpt2-medium, llama-3.2-1b, qwen3-0.6b,"
                + " tinyllama-1.1b)"), badShape.err());
        assertEquals(2, CliRun.of("random-model", "--shape", "gpt2", "--dtype", "int8", "--out", tmp.resolve("x").toString()).code());
        assertEquals(2, CliRun.of("random-model", "--shape", "gpt2", "--layers", "0", "--out", tmp.resolve("x").toString()).code());
        assertFalse(Files.exists(tmp.resolve("x")));
        assertNoLeftovers();
    }

    private void assertNoLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> hidden = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), hidden, "temporary directories left behind");
        }
    }

    private static Set<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    @Test
    void theStreamedWriterRefusesAProducerThatMissesItsShape() {
        Path f = tmp.resolve("bad.safetensors");
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () ->
                org.splitlora.model.weights.SafetensorsWriter.writeStreamed(f, List.of(
                        new org.splitlora.model.weights.SafetensorsWriter.StreamedTensor("w", new long[] {2, 3},
                                sink -> sink.put(new float[5], 0, 5))), TensorDType.BF16, Map.of()));
        assertEquals("tensor 'w' produced 5 values, its shape holds 6", e.getMessage());
    }
}
