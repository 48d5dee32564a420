package org.splitlora.model.random;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.splitlora.model.arch.Architecture;
import org.splitlora.model.arch.Projection;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.SafetensorsWriter.StreamedTensor;
import org.splitlora.model.weights.TensorDType;
import org.splitlora.util.Seeds;

/**
 * Writes a seeded random model of a {@link ModelShapes real shape} as an HF model directory:
 * config.json, every tensor the family's loader reads (HF init: N(0, 0.02) matrices and
 * embeddings, norm weights 1, biases 0) in safetensors, sharded as HF does above
 * {@link #MAX_SHARD_BYTES}, a byte-level tokenizer.json (not for GPT-2, which has its BPE built
 * in) and {@link #MARKER}. Tensors are streamed one at a time; each one's values come from its
 * own seed (the run seed, its name and the chunk), so the bytes depend on nothing else.
 *
 * <p>The directory is written next to its destination and renamed into place: a half-written model
 * never looks complete. An existing non-empty destination is replaced only when asked, and only if
 * this writer wrote it.
 */
public final class RandomModelWriter {

    /** What marks a directory as this writer's: the run provenance. */
    public static final String MARKER = "splitlora_random_model.json";
    /** Weights above this are split into shards of at most this size, as HF's save_pretrained does. */
    public static final long MAX_SHARD_BYTES = 4L << 30;
    private static final double INIT_STD = 0.02;
    /** Values per independently seeded piece of a tensor. */
    private static final int CHUNK = 1 << 18;
    private static final Pattern OWN_FILES = Pattern.compile(
            "config\\.json|tokenizer\\.json|" + Pattern.quote(MARKER)
                    + "|model\\.safetensors|model\\.safetensors\\.index\\.json|model-\\d{5}-of-\\d{5}\\.safetensors");

    private RandomModelWriter() {}

    /** How a tensor starts. */
    public enum Init { NORMAL, ONES, ZEROS }

    /** One tensor of the model. */
    public record PlannedTensor(String name, long[] shape, Init init) {
        public long elements() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }
    }

    /** What to write. {@code layers} ≤ 0 keeps the shape's published layer count. */
    public record Request(ModelShapes.Shape shape, int layers, TensorDType dtype, long seed, Path out, boolean overwrite,
                          long maxShardBytes) {
        public Request(ModelShapes.Shape shape, int layers, TensorDType dtype, long seed, Path out, boolean overwrite) {
            this(shape, layers, dtype, seed, out, overwrite, MAX_SHARD_BYTES);
        }
    }

    /** What was written: parameters, bytes of the weight files, the directory's files, seconds taken. */
    public record Result(Path dir, long parameters, long weightBytes, List<String> files, double seconds) {}

    /** The tensors of a model of this config, in module order (embeddings, layers, final norm, head). */
    public static List<PlannedTensor> plan(ModelConfig c) {
        Architecture arch = c.architecture();
        List<PlannedTensor> out = new ArrayList<>();
        long d = c.hiddenSize();
        out.add(new PlannedTensor(arch.tokenEmbeddingName(), new long[] {c.vocabSize(), d}, Init.NORMAL));
        boolean gpt2 = arch.modelType().equals("gpt2");
        if (gpt2) {
            out.add(new PlannedTensor("transformer.wpe.weight", new long[] {c.maxPositions(), d}, Init.NORMAL));
        } else if (!arch.modelType().equals("llama") && !arch.modelType().equals("qwen3")) {
            throw new IllegalArgumentException("random models of model_type '" + arch.modelType() + "' are not supported");
        }
        for (int l = 0; l < c.numLayers(); l++) {
            String p = gpt2 ? "transformer.h." + l + "." : "model.layers." + l + ".";
            if (gpt2) {
                norm(out, p + "ln_1", d, true);
            } else {
                norm(out, p + "input_layernorm", d, false);
            }
            for (LoraTarget t : new LoraTarget[] {LoraTarget.Q, LoraTarget.K, LoraTarget.V, LoraTarget.O}) {
                projection(out, arch.projection(c, l, t));
            }
            if (arch.modelType().equals("qwen3")) {
                norm(out, p + "self_attn.q_norm", c.headDim(), false);
                norm(out, p + "self_attn.k_norm", c.headDim(), false);
            }
            if (gpt2) {
                norm(out, p + "ln_2", d, true);
            } else {
                norm(out, p + "post_attention_layernorm", d, false);
            }
            for (LoraTarget t : new LoraTarget[] {LoraTarget.GATE, LoraTarget.UP, LoraTarget.DOWN}) {
                if (arch.loraTargets().contains(t)) {
                    projection(out, arch.projection(c, l, t));
                }
            }
        }
        norm(out, gpt2 ? "transformer.ln_f" : "model.norm", d, gpt2);
        if (!c.tieWordEmbeddings()) {
            out.add(new PlannedTensor(arch.lmHeadName(), new long[] {c.vocabSize(), d}, Init.NORMAL));
        }
        return out;
    }

    private static void norm(List<PlannedTensor> out, String module, long width, boolean bias) {
        out.add(new PlannedTensor(module + ".weight", new long[] {width}, Init.ONES));
        if (bias) {
            out.add(new PlannedTensor(module + ".bias", new long[] {width}, Init.ZEROS));
        }
    }

    /** A projection's module, once (GPT-2's q, k and v share c_attn). */
    private static void projection(List<PlannedTensor> out, Projection p) {
        if (out.stream().anyMatch(t -> t.name().equals(p.weightName()))) {
            return;
        }
        out.add(new PlannedTensor(p.weightName(), p.storedShape(), Init.NORMAL));
        if (p.bias()) {
            out.add(new PlannedTensor(p.biasName(), new long[] {p.fusedOut()}, Init.ZEROS));
        }
    }

    public static long parameters(List<PlannedTensor> plan) {
        return plan.stream().mapToLong(PlannedTensor::elements).sum();
    }

    /** The file-format name of a dtype for config.json's torch_dtype. */
    static String torchDtype(TensorDType t) {
        return switch (t) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
        };
    }

    /** f32, bf16 or f16 (any case). */
    public static TensorDType parseDtype(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> TensorDType.F32;
            case "bf16", "bfloat16" -> TensorDType.BF16;
            case "f16", "fp16", "float16" -> TensorDType.F16;
            default -> throw new IllegalArgumentException("unknown dtype '" + s + "' (expected f32, bf16 or f16)");
        };
    }

    /** Refuses a destination that is a file, or a non-empty directory unless it is this writer's and overwrite is set. */
    static void checkDestination(Path out, boolean overwrite) throws IOException {
        if (!Files.exists(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not a directory");
        }
        List<String> entries = entries(out);
        if (entries.isEmpty()) {
            return;
        }
        if (!overwrite) {
            throw new IllegalArgumentException("--out " + out + " is not empty (add --overwrite to replace a model"
                    + " random-model wrote there)");
        }
        if (!Files.isRegularFile(out.resolve(MARKER))) {
            throw new IllegalArgumentException("--out " + out + " was not written by random-model (it has no " + MARKER
                    + "); not replacing it");
        }
        for (String e : entries) {
            if (!OWN_FILES.matcher(e).matches() || !Files.isRegularFile(out.resolve(e))) {
                throw new IllegalArgumentException("--out " + out + " holds " + e
                        + ", which random-model did not write; not replacing it");
            }
        }
    }

    private static List<String> entries(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                out.add(p.getFileName().toString());
            }
        }
        out.sort(null);
        return out;
    }

    public static Result write(Request r) throws IOException {
        long start = System.nanoTime();
        Path out = r.out().toAbsolutePath().normalize();
        if (out.getParent() == null) {
            throw new IllegalArgumentException("--out " + out + " cannot be a filesystem root");
        }
        checkDestination(out, r.overwrite());
        ModelShapes.Shape shape = r.shape();
        ModelConfig config = shape.parse(r.layers());
        List<PlannedTensor> plan = plan(config);
        Files.createDirectories(out.getParent());
        String unique = ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        Path tmp = out.resolveSibling("." + out.getFileName() + ".random-model-" + unique);
        Files.createDirectory(tmp);
        boolean moved = false;
        try {
            Gson gson = new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create();
            JsonObject cfg = shape.config(r.layers(), torchDtype(r.dtype()));
            writeText(tmp.resolve("config.json"), gson.toJson(sorted(cfg)) + "\n");
            if (shape.writesTokenizer()) {
                writeText(tmp.resolve("tokenizer.json"), shape.tokenizerJson());
            }
            long weightBytes = writeWeights(tmp, plan, r.dtype(), r.seed(), r.maxShardBytes(), gson);
            long parameters = parameters(plan);

            JsonObject meta = new JsonObject();
            meta.addProperty("written_by", "splitlora random-model");
            meta.addProperty("shape", shape.name());
            meta.addProperty("shape_of", shape.hubRepo());
            meta.addProperty("model_type", config.architecture().modelType());
            meta.addProperty("layers", config.numLayers());
            meta.addProperty("published_layers", shape.publishedLayers());
            meta.addProperty("seed", r.seed());
            meta.addProperty("dtype", r.dtype().name().toLowerCase(Locale.ROOT));
            meta.addProperty("parameters", parameters);
            meta.addProperty("weight_bytes", weightBytes);
            meta.addProperty("init", "normal(0, " + INIT_STD + ") matrices and embeddings, norm weights 1, biases 0;"
                    + " each tensor seeded from seed, name and chunk");
            meta.addProperty("tokenizer", shape.writesTokenizer()
                    ? "byte-level BPE without merges (one token per UTF-8 byte) and the model's special tokens"
                    : "the built-in GPT-2 BPE (no tokenizer.json)");
            writeText(tmp.resolve(MARKER), gson.toJson(meta) + "\n");

            List<String> files = entries(tmp);
            replace(tmp, out);
            moved = true;
            return new Result(out, parameters, weightBytes, files, (System.nanoTime() - start) / 1e9);
        } finally {
            if (!moved) {
                deleteOwn(tmp);
            }
        }
    }

    /** Moves the finished directory into place; an old model there (checked as ours) is removed after. */
    private static void replace(Path tmp, Path out) throws IOException {
        Path old = null;
        if (Files.exists(out)) {
            if (entries(out).isEmpty()) {
                Files.delete(out);
            } else {
                old = out.resolveSibling(tmp.getFileName() + ".replaced");
                Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        if (old != null) {
            deleteOwn(old);
        }
    }

    /** Deletes a directory this writer made: its regular files, then the directory. */
    private static void deleteOwn(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        for (String e : entries(dir)) {
            Files.deleteIfExists(dir.resolve(e));
        }
        Files.deleteIfExists(dir);
    }

    private static void writeText(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    /** Keys sorted at every level, as HF's json.dumps(sort_keys=True). */
    private static JsonElement sorted(JsonElement e) {
        if (e.isJsonObject()) {
            JsonObject o = new JsonObject();
            Map<String, JsonElement> byKey = new TreeMap<>();
            e.getAsJsonObject().entrySet().forEach(en -> byKey.put(en.getKey(), en.getValue()));
            byKey.forEach((k, v) -> o.add(k, sorted(v)));
            return o;
        }
        if (e.isJsonArray()) {
            JsonArray a = new JsonArray();
            e.getAsJsonArray().forEach(v -> a.add(sorted(v)));
            return a;
        }
        return e;
    }

    /** Writes model.safetensors, or shards and their index; returns the bytes of the weight files. */
    private static long writeWeights(Path dir, List<PlannedTensor> plan, TensorDType dtype, long seed, long maxShard, Gson gson)
            throws IOException {
        List<List<PlannedTensor>> shards = new ArrayList<>();
        List<PlannedTensor> current = new ArrayList<>();
        long currentBytes = 0;
        long total = 0;
        for (PlannedTensor t : plan) {
            long bytes = t.elements() * dtype.bytes();
            if (!current.isEmpty() && currentBytes + bytes > maxShard) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += bytes;
            total += bytes;
        }
        shards.add(current);
        Generator gen = new Generator(seed);
        Map<String, String> metadata = Map.of("format", "pt");
        if (shards.size() == 1) {
            return SafetensorsWriter.writeStreamed(dir.resolve("model.safetensors"), gen.streamed(plan), dtype, metadata);
        }
        long fileBytes = 0;
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            fileBytes += SafetensorsWriter.writeStreamed(dir.resolve(name), gen.streamed(shards.get(i)), dtype, metadata);
            shards.get(i).forEach(t -> weightMap.put(t.name(), name));
        }
        JsonObject index = new JsonObject();
        JsonObject m = new JsonObject();
        m.addProperty("total_size", total);
        index.add("metadata", m);
        JsonObject wm = new JsonObject();
        weightMap.forEach(wm::addProperty);
        index.add("weight_map", wm);
        writeText(dir.resolve("model.safetensors.index.json"), gson.toJson(index) + "\n");
        return fileBytes;
    }

    /**
     * The values of every tensor: N(0, 0.02) from pieces of {@link #CHUNK} values, each with its
     * own SplittableRandom seeded from the run seed, the tensor's name and the piece's index, so the
     * pieces are made in parallel and no tensor depends on another or on the order of writing.
     */
    static final class Generator {

        private final long seed;
        private final int wave = Math.max(2, 2 * Runtime.getRuntime().availableProcessors());
        private final float[][] buffers = new float[wave][];

        Generator(long seed) {
            this.seed = seed;
        }

        List<StreamedTensor> streamed(List<PlannedTensor> plan) {
            List<StreamedTensor> out = new ArrayList<>();
            for (PlannedTensor t : plan) {
                out.add(new StreamedTensor(t.name(), t.shape(), sink -> emit(t, sink)));
            }
            return out;
        }

        private void emit(PlannedTensor t, SafetensorsWriter.Sink sink) throws IOException {
            long n = t.elements();
            if (t.init() != Init.NORMAL) {
                float[] fill = new float[(int) Math.min(n, CHUNK)];
                if (t.init() == Init.ONES) {
                    java.util.Arrays.fill(fill, 1f);
                }
                for (long done = 0; done < n; done += fill.length) {
                    sink.put(fill, 0, (int) Math.min(fill.length, n - done));
                }
                return;
            }
            long nameHash = nameHash(t.name());
            long chunks = (n + CHUNK - 1) / CHUNK;
            for (long base = 0; base < chunks; base += wave) {
                int count = (int) Math.min(wave, chunks - base);
                long first = base;
                IntStream.range(0, count).parallel().forEach(i -> {
                    long chunk = first + i;
                    int len = (int) Math.min(CHUNK, n - chunk * CHUNK);
                    if (buffers[i] == null) {
                        buffers[i] = new float[CHUNK];
                    }
                    fillNormal(buffers[i], len, Seeds.derive(seed, nameHash, chunk));
                });
                for (int i = 0; i < count; i++) {
                    long chunk = base + i;
                    sink.put(buffers[i], 0, (int) Math.min(CHUNK, n - chunk * CHUNK));
                }
            }
        }

        private static void fillNormal(float[] buf, int len, long chunkSeed) {
            SplittableRandom rng = new SplittableRandom(chunkSeed);
            for (int i = 0; i < len; i++) {
                buf[i] = (float) (rng.nextGaussian() * INIT_STD);
            }
        }

        /** FNV-1a over the name's UTF-8 bytes. */
        static long nameHash(String name) {
            long h = 0xcbf29ce484222325L;
            for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
                h ^= b & 0xFF;
                h *= 0x100000001b3L;
            }
            return h;
        }
    }
}
