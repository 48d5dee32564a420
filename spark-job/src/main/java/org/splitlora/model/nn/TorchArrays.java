package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import org.splitlora.model.weights.DirectBuffers;

/**
 * Java values copied into memory PyTorch owns. DJL's {@code create} makes an array that shares
 * a direct buffer, freed only by a GC and counted against the JVM's direct-memory limit: frozen
 * weights would hold GBs of it, and a training pass its dropout masks (a 512-token batch's masks
 * exceed a 1 GB limit). Here the values are staged, copied, and the staging freed at once.
 */
public final class TorchArrays {

    private TorchArrays() {}

    public static NDArray owned(NDManager manager, float[] values, Shape shape) {
        ByteBuffer staging = DirectBuffers.allocate(4L * values.length);
        try {
            staging.asFloatBuffer().put(values);
            try (NDArray staged = manager.create(staging, shape, DataType.FLOAT32)) {
                return staged.duplicate();
            }
        } finally {
            DirectBuffers.free(staging);
        }
    }
}
