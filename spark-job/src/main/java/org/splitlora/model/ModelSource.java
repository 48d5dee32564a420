package org.splitlora.model;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import org.splitlora.model.config.HfConfigReader;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.weights.HfCheckpoint;
import org.splitlora.model.weights.ModelLoadException;
import org.splitlora.model.weights.RemoteModels;
import org.splitlora.model.weights.WeightSource;

/**
 * Where a model comes from: {@code builtin:tiny-gpt2} or an HF model directory (config.json,
 * safetensors, tokenizer.json), a local path or any Hadoop filesystem URI (copied into a local
 * cache that each JVM checks against the source, see {@link RemoteModels}). Opens the weights and
 * tokenizer on demand.
 */
public final class ModelSource {

    private final String spec;
    private final Path dir;
    private final ModelConfig config;

    private ModelSource(String spec, Path dir, ModelConfig config) {
        this.spec = spec;
        this.dir = dir;
        this.config = config;
    }

    public static ModelSource of(String spec) {
        if (spec.startsWith("builtin:")) {
            if (!spec.equals(BuiltinModels.TINY_GPT2)) {
                throw new ModelLoadException("unknown built-in model '" + spec + "' (available: " + BuiltinModels.TINY_GPT2 + ")");
            }
            return new ModelSource(spec, null, BuiltinModels.tinyGpt2Config());
        }
        Path dir = RemoteModels.isUri(spec) ? RemoteModels.localCopy(spec) : Path.of(spec);
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException(spec + ": model directory not found");
        }
        return new ModelSource(spec, dir, HfConfigReader.read(dir.resolve("config.json")));
    }

    public String spec() {
        return spec;
    }

    public ModelConfig config() {
        return config;
    }

    /** The HF model directory, or null for a built-in model. */
    public Path directory() {
        return dir;
    }

    public WeightSource openWeights() {
        return dir == null ? BuiltinModels.tinyGpt2Weights() : HfCheckpoint.open(dir);
    }

    /**
     * Part {@code part} of the model on {@code parent}'s device: a view of this JVM's one copy of
     * the model's frozen weights on that device, which loads the tensors the part needs and no
     * earlier part read. Closing the model releases its hold on them.
     */
    public DecoderModel load(ModelPart part, NDManager parent) {
        return load(part, parent, FrozenWeights.acquire(fingerprint(), parent.getDevice()));
    }

    /** Part {@code part} with frozen weights of its own, which it may change (merging adapters). */
    public DecoderModel loadPrivate(ModelPart part, NDManager parent) {
        return load(part, parent, FrozenWeights.privateCopy(parent.getDevice()));
    }

    private DecoderModel load(ModelPart part, NDManager parent, FrozenWeights frozen) {
        WeightSource w;
        try {
            w = openWeights();
        } catch (RuntimeException e) {
            frozen.release();
            throw e;
        }
        try (w) {
            return ModelLoader.load(w, config, part, frozen, parent);
        }
    }

    /**
     * What identifies the weights this source holds: the spec, and for a directory its files'
     * names, sizes and modification times (a model rewritten in place is another model).
     */
    private String fingerprint() {
        if (dir == null) {
            return spec;
        }
        StringBuilder b = new StringBuilder(dir.toAbsolutePath().normalize().toString());
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                b.append('|').append(f.getFileName()).append(':').append(Files.size(f)).append(':')
                        .append(Files.getLastModifiedTime(f).toMillis());
            }
        } catch (java.io.IOException e) {
            throw new ModelLoadException(spec + ": cannot list the model directory: " + e.getMessage());
        }
        return b.toString();
    }

    public DecoderModel loadWhole(NDManager parent) {
        return load(ModelPart.whole(config), parent);
    }

    /**
     * The model's tokenizer: its tokenizer.json, or the GPT-2 BPE for the built-in model and for
     * GPT-2 directories that ship none.
     */
    public TextTokenizer tokenizer() {
        return tokenizerSpec().create();
    }

    /** The tokenizer in a form Spark can ship to executors. */
    public TokenizerSpec tokenizerSpec() {
        if (dir != null && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return TokenizerSpec.hfJson(dir.resolve("tokenizer.json"), config.bosTokenId(), config.eosTokenId());
        }
        TokenizerSpec fallback = config.architecture().fallbackTokenizer(config);
        if (fallback != null) {
            return fallback;
        }
        throw new ModelLoadException(spec + ": no tokenizer.json");
    }
}
