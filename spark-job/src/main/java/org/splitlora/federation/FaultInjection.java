package org.splitlora.federation;

import org.splitlora.util.KillPoint;

/**
 * Fails one client task once, for testing recovery: the system property
 * {@code splitlora.faults.failOnce=ROUND:CLIENT:STEP} (1-based round, client id, 0-based local
 * step) makes that client throw before that step in the first attempt of that round's stage.
 * Spark then retries the stage; the run must finish as if nothing had happened.
 */
final class FaultInjection {

    static final String PROPERTY = "splitlora.faults.failOnce";
    /** {@code splitlora.faults.stopAfterRound=R} aborts the run after round R's listeners (a kill after its checkpoint). */
    static final String STOP_PROPERTY = "splitlora.faults.stopAfterRound";

    private FaultInjection() {}

    static void check(int round, int client, int localStep, int attempt) {
        KillPoint.reach("client.step");
        String spec = System.getProperty(PROPERTY);
        if (spec == null || attempt > 0) {
            return;
        }
        String[] p = spec.split(":");
        if (p.length == 3 && Integer.parseInt(p[0]) == round + 1 && Integer.parseInt(p[1]) == client
                && Integer.parseInt(p[2]) == localStep) {
            throw new IllegalStateException("injected failure (" + PROPERTY + "=" + spec + ")");
        }
    }

    static void afterRound(int round) {
        KillPoint.reach("round.end");
        String stop = System.getProperty(STOP_PROPERTY);
        if (stop != null && Integer.parseInt(stop) == round + 1) {
            throw new IllegalStateException("injected stop after round " + stop + " (" + STOP_PROPERTY + ")");
        }
    }
}
