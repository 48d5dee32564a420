package org.splitlora.model;

import org.splitlora.model.config.ModelConfig;

/**
 * Which part of a decoder to load: the embeddings, blocks [fromLayer, toLayer) and the final
 * norm + LM head. The client segment of a split at cut k is {@code client(k)}, the server
 * segment {@code server(k)}.
 */
public record ModelPart(boolean embeddings, int fromLayer, int toLayer, boolean head) {

    public static ModelPart whole(ModelConfig c) {
        return new ModelPart(true, 0, c.numLayers(), true);
    }

    public static ModelPart client(ModelConfig c, int cut) {
        checkCut(c, cut);
        return new ModelPart(true, 0, cut, false);
    }

    public static ModelPart server(ModelConfig c, int cut) {
        checkCut(c, cut);
        return new ModelPart(false, cut, c.numLayers(), true);
    }

    public static void checkCut(ModelConfig c, int cut) {
        if (cut < 1 || cut >= c.numLayers()) {
            throw new IllegalArgumentException(
                    "cut layer must be in [1, " + (c.numLayers() - 1) + "] for a model with "
                            + c.numLayers() + " layers, got " + cut);
        }
    }
}
