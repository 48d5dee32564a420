package org.splitlora.model.nn;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Access to the PyTorch engine behind DJL. Gradient recording is switched per thread through
 * PyTorch's thread-local grad mode, not DJL's JVM-global GradientCollector (DJL-NOTES trap 1):
 * Spark runs several client tasks and the split server as threads of one JVM.
 */
public final class Torch {

    private static volatile Engine engine;

    private Torch() {}

    /** Loads the PyTorch engine once (offline, from the native jar on the class path). */
    public static Engine engine() {
        Engine e = engine;
        if (e == null) {
            synchronized (Torch.class) {
                e = engine;
                if (e == null) {
                    e = Engine.getEngine("PyTorch");
                    engine = e;
                }
            }
        }
        return e;
    }

    /** Sets this thread's grad mode; closing the returned scope restores the previous mode. */
    public static GradScope gradMode(boolean enabled) {
        engine();
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
        return new GradScope(previous);
    }

    /** Restores the grad mode that was in force when it was opened. */
    public static final class GradScope implements AutoCloseable {
        private final boolean previous;

        private GradScope(boolean previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            JniUtils.setGradMode(previous);
        }
    }
}
