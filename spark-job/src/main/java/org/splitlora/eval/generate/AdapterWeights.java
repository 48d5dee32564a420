package org.splitlora.eval.generate;

import ai.djl.ndarray.NDManager;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.peft.PeftAdapter;

/** A LoRA adapter as plain values, read once on the driver and broadcast to the executors. */
public record AdapterWeights(LoraSpec spec, Map<String, float[]> values, String sha256) implements Serializable {

    /** Reads a PEFT adapter directory (ours or HF PEFT's) for a model with this config. */
    public static AdapterWeights read(Path dir, ModelConfig config) {
        PeftAdapter.Loaded l = PeftAdapter.read(dir, config);
        Map<String, float[]> sorted = new TreeMap<>(l.values());
        return new AdapterWeights(l.spec(), sorted, digest(l.spec(), sorted));
    }

    /** The adapters over all layers of the model, owned by {@code parent}. */
    public LoraAdapters load(ModelConfig config, NDManager parent) {
        return LoraAdapters.fromFloats(parent, config, spec, 0, config.numLayers(), values);
    }

    private static String digest(LoraSpec spec, Map<String, float[]> values) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(spec.toString().getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, float[]> e : values.entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                ByteBuffer b = ByteBuffer.allocate(4 * e.getValue().length);
                b.asFloatBuffer().put(e.getValue());
                md.update(b);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
