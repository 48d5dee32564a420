package org.splitlora.model.weights;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Direct buffers freed when their use ends instead of when a GC runs. Loading a model stages
 * every tensor in a direct buffer; left to the GC, a 1B-parameter model's staging (GBs) piles up
 * until the JVM's direct-memory limit forces a collection, and the process holds it meanwhile.
 */
public final class DirectBuffers {

    private static final sun.misc.Unsafe UNSAFE = unsafe();

    private DirectBuffers() {}

    /** A direct buffer of {@code bytes} in native order. */
    public static ByteBuffer allocate(long bytes) {
        return ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder());
    }

    /** Frees {@code buffer} now; nothing may use it (or a view of it) afterwards. */
    public static void free(ByteBuffer buffer) {
        UNSAFE.invokeCleaner(buffer);
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
