package org.splitlora.model.weights;

import java.util.Set;

/** Named fp32 tensors, whatever their storage (a safetensors file, shards, or memory). */
public interface WeightSource extends AutoCloseable {

    Set<String> names();

    boolean contains(String name);

    /** Shape of a tensor; throws {@link ModelLoadException} naming the tensor if it is absent. */
    long[] shape(String name);

    /** The tensor converted to fp32, row-major. */
    float[] floats(String name);

    /** Where the weights come from, for error messages. */
    String origin();

    /** The file that holds tensor {@code name}, for error messages. */
    default String origin(String name) {
        return origin();
    }

    @Override
    default void close() {}
}
