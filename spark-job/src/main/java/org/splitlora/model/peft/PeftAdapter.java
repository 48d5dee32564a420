package org.splitlora.model.peft;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splitlora.model.arch.Architecture;
import org.splitlora.model.arch.Projection;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;

/**
 * LoRA adapters in HF PEFT's on-disk format: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with PEFT's module names and {@code lora_A}/{@code lora_B}
 * layout ([r, in] and [out, r]), scaling {@code lora_alpha / r} per module (rank_pattern /
 * alpha_pattern where a module differs from the global r and alpha).
 *
 * <p>Module names and fusion come from the model's architecture ({@link Projection}). A fused
 * module such as GPT-2's Conv1D {@code attn.c_attn}, whose output is [q | k | v], gets one faithful
 * LoRA from our adapters on some of its projections: A stacks the A of each adapted block (rank =
 * the sum of their ranks), B is block-diagonal, placing each block's B in that projection's output
 * rows and zeros elsewhere, and lora_alpha is set so that alpha / r is our scaling. So B·A·scale
 * equals our ΔW on q and v and zero on k. Reading such an adapter back (or any PEFT adapter on
 * c_attn) gives q, k and v each an adapter with the shared A and their rows of B. All adapters of a layer are brought to one rank (zero padding) and one scaling (folded into
 * B), which changes no ΔW.
 */
public final class PeftAdapter {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private PeftAdapter() {}

    /** Adapters as our LoRA layers: a spec (targets, per-layer rank, scaling) and A/B values by our names. */
    public record Loaded(LoraSpec spec, Map<String, float[]> values) {}

    /** Writes {@code values} (our names, layers [0, layers)) under {@code dir}. */
    public static void write(Path dir, ModelConfig config, LoraSpec spec, Map<String, float[]> values, String baseModel) {
        Architecture arch = config.architecture();
        Map<String, SafetensorsWriter.Tensor> tensors = new TreeMap<>();
        Map<String, Integer> rankPattern = new TreeMap<>();
        Map<String, Double> alphaPattern = new TreeMap<>();
        Set<String> targetModules = new TreeSet<>();
        boolean fanInFanOut = false;
        for (int layer = 0; layer < config.numLayers(); layer++) {
            int r = spec.rank(layer);
            // the adapted projections of each HF module, in target order
            Map<String, List<LoraTarget>> byModule = new LinkedHashMap<>();
            for (LoraTarget t : spec.targets()) {
                if (!values.containsKey(LoraAdapters.key(layer, t) + ".lora_A")) {
                    throw new IllegalArgumentException("no adapter for layer " + layer + " target " + t.key());
                }
                byModule.computeIfAbsent(arch.projection(config, layer, t).module(), m -> new ArrayList<>()).add(t);
            }
            for (Map.Entry<String, List<LoraTarget>> e : byModule.entrySet()) {
                String module = e.getKey();
                List<LoraTarget> adapted = e.getValue();
                Projection p = arch.projection(config, layer, adapted.get(0));
                fanInFanOut |= p.layout() == Projection.Layout.CONV1D;
                targetModules.add(p.targetName());
                if (!p.fused()) {
                    String k = LoraAdapters.key(layer, adapted.get(0));
                    tensors.put(prefix() + module + ".lora_A.weight", tensor(r, p.in(), values.get(k + ".lora_A")));
                    tensors.put(prefix() + module + ".lora_B.weight", tensor(p.out(), r, values.get(k + ".lora_B")));
                    if (r != spec.rank()) {
                        rankPattern.put(module, r);
                        alphaPattern.put(module, spec.alpha());
                    }
                    continue;
                }
                writeFused(config, layer, r, adapted, values, tensors);
                int total = r * adapted.size();
                if (total != spec.rank()) {
                    rankPattern.put(module, total);
                    alphaPattern.put(module, spec.alpha() * total / r);
                }
            }
        }
        JsonObject cfg = new JsonObject();
        cfg.addProperty("peft_type", "LORA");
        cfg.addProperty("task_type", "CAUSAL_LM");
        cfg.addProperty("base_model_name_or_path", baseModel);
        cfg.addProperty("r", spec.rank());
        cfg.addProperty("lora_alpha", spec.alpha());
        cfg.addProperty("lora_dropout", spec.dropout());
        cfg.add("target_modules", GSON.toJsonTree(targetModules));
        cfg.addProperty("bias", "none");
        cfg.addProperty("fan_in_fan_out", fanInFanOut);
        cfg.addProperty("inference_mode", true);
        cfg.addProperty("use_rslora", false);
        cfg.addProperty("init_lora_weights", true);
        cfg.add("rank_pattern", GSON.toJsonTree(rankPattern));
        cfg.add("alpha_pattern", GSON.toJsonTree(alphaPattern));
        cfg.add("modules_to_save", null);
        cfg.add("layers_to_transform", null);
        try {
            Files.createDirectories(dir);
            SafetensorsWriter.write(dir.resolve(WEIGHTS), tensors, TensorDType.F32, Map.of("format", "pt"));
            Files.writeString(dir.resolve(CONFIG), GSON.toJson(cfg), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * One LoRA on a fused module from the adapters of some of its projections: A stacks their A
     * matrices, B places each one's B in that projection's rows and zeros elsewhere.
     */
    private static void writeFused(ModelConfig config, int layer, int r, List<LoraTarget> adapted,
                                   Map<String, float[]> values, Map<String, SafetensorsWriter.Tensor> tensors) {
        Projection first = config.architecture().projection(config, layer, adapted.get(0));
        int in = first.in();
        int total = r * adapted.size();
        float[] a = new float[total * in];
        float[] b = new float[first.fusedOut() * total];
        for (int i = 0; i < adapted.size(); i++) {
            Projection p = config.architecture().projection(config, layer, adapted.get(i));
            String k = LoraAdapters.key(layer, adapted.get(i));
            System.arraycopy(values.get(k + ".lora_A"), 0, a, i * r * in, r * in);
            float[] bt = values.get(k + ".lora_B"); // [out, r]
            for (int row = 0; row < p.out(); row++) {
                System.arraycopy(bt, row * r, b, (p.offset() + row) * total + i * r, r);
            }
        }
        String module = prefix() + first.module();
        tensors.put(module + ".lora_A.weight", new SafetensorsWriter.Tensor(new long[] {total, in}, a));
        tensors.put(module + ".lora_B.weight", new SafetensorsWriter.Tensor(new long[] {first.fusedOut(), total}, b));
    }

    /** Reads an adapter directory into adapters over all layers of the model, owned by {@code parent}. */
    public static LoraAdapters load(Path dir, ModelConfig config, ai.djl.ndarray.NDManager parent) {
        Loaded l = read(dir, config);
        return LoraAdapters.fromFloats(parent, config, l.spec(), 0, config.numLayers(), l.values());
    }

    /** Reads an adapter directory written by us or by HF PEFT for a model with this config. */
    public static Loaded read(Path dir, ModelConfig config) {
        Path cfgFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(cfgFile)) {
            throw new ModelLoadException(dir + ": not a PEFT adapter (no " + CONFIG + ")");
        }
        JsonObject cfg;
        try {
            cfg = JsonParser.parseString(Files.readString(cfgFile, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException(cfgFile + ": cannot read: " + e.getMessage());
        }
        if (!"LORA".equals(string(cfg, "peft_type"))) {
            throw new ModelLoadException(cfgFile + ": peft_type " + string(cfg, "peft_type") + " is not LORA");
        }
        if (cfg.has("use_rslora") && cfg.get("use_rslora").getAsBoolean()) {
            throw new ModelLoadException(cfgFile + ": use_rslora adapters are not supported");
        }
        int globalRank = cfg.get("r").getAsInt();
        double globalAlpha = cfg.get("lora_alpha").getAsDouble();
        Map<String, Integer> rankPattern = patterns(cfg, "rank_pattern", JsonElement::getAsInt);
        Map<String, Double> alphaPattern = patterns(cfg, "alpha_pattern", JsonElement::getAsDouble);
        double dropout = cfg.has("lora_dropout") ? cfg.get("lora_dropout").getAsDouble() : 0;

        // (layer, target) → A [r, in], B [out, r], scaling
        Map<String, Module> modules = new TreeMap<>();
        Set<LoraTarget> targets = EnumSet.noneOf(LoraTarget.class);
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve(WEIGHTS))) {
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (LoraTarget t : config.architecture().loraTargets()) {
                    Projection p = config.architecture().projection(config, layer, t);
                    String module = p.module();
                    String aName = find(st, module + ".lora_A.weight");
                    if (aName == null) {
                        continue;
                    }
                    String bName = find(st, module + ".lora_B.weight");
                    long[] as = st.shape(aName);
                    long[] bs = st.shape(bName == null ? aName : bName);
                    int r = (int) as[0];
                    if (bName == null || as.length != 2 || as[1] != p.in() || bs.length != 2 || bs[0] != p.fusedOut() || bs[1] != r) {
                        throw new ModelLoadException(dir.resolve(WEIGHTS) + ": LoRA of " + module + " has shapes A "
                                + java.util.Arrays.toString(as) + ", B " + java.util.Arrays.toString(bs) + ", expected A [r, "
                                + p.in() + "] and B [" + p.fusedOut() + ", r]");
                    }
                    float[] b = st.floats(bName);
                    if (p.fused()) {
                        b = java.util.Arrays.copyOfRange(b, p.offset() * r, (p.offset() + p.out()) * r);
                    }
                    int rank = rankPattern.getOrDefault(matchKey(rankPattern, module), globalRank);
                    double alpha = alphaPattern.getOrDefault(matchKey(alphaPattern, module), globalAlpha);
                    if (rank != r) {
                        throw new ModelLoadException(cfgFile + ": " + module + " has rank " + r + " in the weights but "
                                + rank + " in the config");
                    }
                    modules.put(LoraAdapters.key(layer, t), new Module(layer, st.floats(aName), b, r, p.in(), p.out(), alpha / r));
                    targets.add(t);
                }
            }
        }
        if (modules.isEmpty()) {
            throw new ModelLoadException(dir + ": no LoRA weights for this model's modules");
        }
        return normalise(config, targets, dropout, modules);
    }

    private record Module(int layer, float[] a, float[] b, int rank, int in, int out, double scaling) {}

    /** One rank and scaling per layer: pad smaller ranks with zeros, fold scaling ratios into B. */
    private static Loaded normalise(ModelConfig config, Set<LoraTarget> targets, double dropout, Map<String, Module> modules) {
        Map<Integer, Integer> layerRanks = new TreeMap<>();
        Map<Integer, Double> layerScaling = new TreeMap<>();
        for (Module m : modules.values()) {
            layerRanks.merge(m.layer(), m.rank(), Math::max);
            layerScaling.putIfAbsent(m.layer(), m.scaling());
        }
        int baseRank = layerRanks.values().stream().mapToInt(Integer::intValue).max().orElse(1);
        // one alpha for the spec: alpha / rank(layer) must be each layer's scaling, so the scaling
        // of layers that differ is folded into B as well
        double scaling0 = layerScaling.values().iterator().next();
        double alpha = scaling0 * baseRank;
        Map<String, float[]> values = new LinkedHashMap<>();
        for (int layer = 0; layer < config.numLayers(); layer++) {
            int r = layerRanks.getOrDefault(layer, baseRank);
            for (LoraTarget t : targets) {
                String k = LoraAdapters.key(layer, t);
                Module m = modules.get(k);
                int[] io = LoraAdapters.dims(config, t);
                float[] a = new float[r * io[0]];
                float[] b = new float[io[1] * r];
                if (m != null) {
                    System.arraycopy(m.a(), 0, a, 0, m.a().length);
                    double fold = m.scaling() / (alpha / r);
                    for (int row = 0; row < io[1]; row++) {
                        for (int c = 0; c < m.rank(); c++) {
                            b[row * r + c] = (float) (m.b()[row * m.rank() + c] * fold);
                        }
                    }
                }
                values.put(k + ".lora_A", a);
                values.put(k + ".lora_B", b);
            }
        }
        Map<Integer, Integer> ranks = new TreeMap<>();
        for (int layer = 0; layer < config.numLayers(); layer++) {
            int r = layerRanks.getOrDefault(layer, baseRank);
            if (r != baseRank) {
                ranks.put(layer, r);
            }
        }
        return new Loaded(new LoraSpec(targets, baseRank, alpha, Math.min(dropout, 0.99), ranks), values);
    }

    private static String prefix() {
        return "base_model.model.";
    }

    /** The tensor name as PEFT saves it, with or without the base_model.model. prefix. */
    private static String find(SafetensorsFile st, String name) {
        if (st.contains(prefix() + name)) {
            return prefix() + name;
        }
        return st.contains(name) ? name : null;
    }

    private static SafetensorsWriter.Tensor tensor(int rows, int cols, float[] values) {
        return new SafetensorsWriter.Tensor(new long[] {rows, cols}, values);
    }

    private static String string(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : null;
    }

    private static <T> Map<String, T> patterns(JsonObject cfg, String key, java.util.function.Function<JsonElement, T> read) {
        Map<String, T> out = new LinkedHashMap<>();
        if (cfg.has(key) && cfg.get(key).isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : cfg.getAsJsonObject(key).entrySet()) {
                out.put(e.getKey(), read.apply(e.getValue()));
            }
        }
        return out;
    }

    /** PEFT matches a pattern key against a module name as a suffix at a dot boundary. */
    private static String matchKey(Map<String, ?> patterns, String module) {
        for (String k : patterns.keySet()) {
            if (module.equals(k) || module.endsWith("." + k)) {
                return k;
            }
        }
        return null;
    }
}
