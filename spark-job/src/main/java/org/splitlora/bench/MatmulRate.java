package org.splitlora.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * This machine's fp32 matmul FLOP/s in the libtorch the training runs on, with the JVM's thread
 * settings: the median of timed {@code [rows, in] · [in, out]} products after a warm-up. The
 * denominator of a training step's fraction of peak.
 */
public final class MatmulRate {

    private static final int WARMUP = 3;

    private MatmulRate() {}

    /** FLOP/s of {@code repeats} products of the given shape on {@code device} (median). */
    public static double measure(Device device, int rows, int in, int out, int repeats) {
        if (rows < 1 || in < 1 || out < 1 || repeats < 1) {
            throw new IllegalArgumentException("shape [" + rows + ", " + in + "]·[" + in + ", " + out + "] and " + repeats
                    + " repeats must be positive");
        }
        double[] seconds = new double[repeats];
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray a = m.randomUniform(-1, 1, new Shape(rows, in));
            NDArray b = m.randomUniform(-1, 1, new Shape(in, out));
            for (int i = 0; i < WARMUP + repeats; i++) {
                try (NDManager step = m.newSubManager()) {
                    long t0 = System.nanoTime();
                    NDArray c = a.matMul(b);
                    c.attach(step);
                    c.get(0, 0).getFloat(); // waits for an asynchronous device
                    if (i >= WARMUP) {
                        seconds[i - WARMUP] = (System.nanoTime() - t0) / 1e9;
                    }
                }
            }
        }
        Arrays.sort(seconds);
        return 2.0 * rows * in * out / seconds[(repeats - 1) / 2];
    }
}
