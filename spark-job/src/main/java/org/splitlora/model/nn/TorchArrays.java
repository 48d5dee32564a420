package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Java values copied into memory PyTorch owns. DJL's {@code create} makes an array that shares
 * a direct buffer, freed only by a GC and counted against the JVM's direct-memory limit: frozen
 * weights would hold GBs of it, and a training pass its dropout masks (a 512-token batch's masks
 * exceed a 1 GB limit). Such an array also dies with its manager while autograd may still hold
 * its tensor. Here the values are staged, copied, and the staging freed at once; the copy is
 * reference-counted by PyTorch like any other tensor.
 */
public final class TorchArrays {

    private static final sun.misc.Unsafe UNSAFE = unsafe();

    private TorchArrays() {}

    public static NDArray owned(NDManager manager, float[] values, Shape shape) {
        ByteBuffer staging = ByteBuffer.allocateDirect(Math.multiplyExact(4, values.length)).order(ByteOrder.nativeOrder());
        try {
            staging.asFloatBuffer().put(values);
            try (NDArray staged = manager.create(staging, shape, DataType.FLOAT32)) {
                return staged.duplicate();
            }
        } finally {
            UNSAFE.invokeCleaner(staging);
        }
    }

    private static sun.misc.Unsafe unsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("sun.misc.Unsafe is not accessible", e);
        }
    }
}
