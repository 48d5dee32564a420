package org.splitlora.util;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named points where the fault-injection tests kill the process: with the system property
 * {@code splitlora.faults.killAt=NAME} (or {@code NAME#N}, the N-th time it is reached) the JVM
 * halts there with exit code 137, as after a SIGKILL: no shutdown hooks, no finally blocks,
 * files as they are. Without the property a point costs one property read.
 */
public final class KillPoint {

    public static final String PROPERTY = "splitlora.faults.killAt";
    private static final ConcurrentHashMap<String, AtomicInteger> REACHED = new ConcurrentHashMap<>();

    private KillPoint() {}

    public static void reach(String name) {
        String spec = System.getProperty(PROPERTY);
        if (spec == null) {
            return;
        }
        int hash = spec.indexOf('#');
        String point = hash < 0 ? spec : spec.substring(0, hash);
        if (!point.equals(name)) {
            return;
        }
        int nth = hash < 0 ? 1 : Integer.parseInt(spec.substring(hash + 1));
        if (REACHED.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet() == nth) {
            System.err.println("killed at " + spec + " (" + PROPERTY + ")");
            System.err.flush();
            Runtime.getRuntime().halt(137);
        }
    }
}
