package org.splitlora.train;

import java.io.Serializable;

/**
 * A client slower than the machine it runs on, to study heterogeneous clients on one host
 * ({@code clients.speed}): after each compute phase it waits (1/factor − 1) times as long as the
 * phase took, so a factor of 0.25 makes its compute take 4× as long without using more CPU.
 */
public record SimulatedSpeed(double factor) implements Serializable {

    public static final SimulatedSpeed FULL = new SimulatedSpeed(1);

    public SimulatedSpeed {
        if (!(factor > 0 && factor <= 1)) {
            throw new IllegalArgumentException("speed factor must be in (0, 1], got " + factor);
        }
    }

    /** Waits out the slowdown of a phase that started at {@code startNanos} (System.nanoTime). */
    public void slowDown(long startNanos) {
        if (factor >= 1) {
            return;
        }
        long extra = (long) ((System.nanoTime() - startNanos) * (1 / factor - 1));
        try {
            Thread.sleep(extra / 1_000_000, (int) (extra % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while simulating a slow client", e);
        }
    }
}
