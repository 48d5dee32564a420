package org.splitlora.model.arch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.Linear;

/**
 * The frozen weights of a checkpoint as an {@link Architecture} wires them into a model: every
 * tensor by its HF name with its shape checked against config.json.
 */
public interface ModelWeights {

    /** The tensor {@code name}, which must have {@code shape}. */
    NDArray tensor(String name, long... shape);

    /** The frozen projection {@code target} of {@code layer}, with the adapters of each pass applied. */
    Linear projection(int layer, LoraTarget target);

    /** Owns the model's frozen arrays (for tables an architecture computes, e.g. RoPE). */
    NDManager manager();

    /**
     * A frozen object every block of the model uses (a RoPE table), made once per copy of the
     * weights by {@code make}: blocks are built one at a time, for whichever part asks first.
     */
    <T> T shared(String name, java.util.function.Supplier<T> make);
}
