package org.splitlora.federation;

import java.io.FileNotFoundException;
import java.io.UncheckedIOException;
import org.splitlora.util.KillPoint;

/**
 * Fails one client task once, for testing recovery: the system property
 * {@code splitlora.faults.failOnce=ROUND:CLIENT:STEP} (1-based round, client id, 0-based local
 * step) makes that client throw before that step in the first attempt of that round's stage.
 * Spark then retries the stage; the run must finish as if nothing had happened.
 * {@code splitlora.faults.fileGone=ROUND:CLIENT:STEP} throws a missing-file error there in every
 * attempt: a failure no retry fixes.
 */
final class FaultInjection {

    static final String PROPERTY = "splitlora.faults.failOnce";
    static final String FILE_GONE_PROPERTY = "splitlora.faults.fileGone";
    /** {@code splitlora.faults.stopAfterRound=R} aborts the run after round R's listeners (a kill after its checkpoint). */
    static final String STOP_PROPERTY = "splitlora.faults.stopAfterRound";

    private FaultInjection() {}

    static void check(int round, int client, int localStep, int attempt) {
        KillPoint.reach("client.step");
        String once = System.getProperty(PROPERTY);
        if (attempt == 0 && at(once, round, client, localStep)) {
            throw new IllegalStateException("injected failure (" + PROPERTY + "=" + once + ")");
        }
        String gone = System.getProperty(FILE_GONE_PROPERTY);
        if (at(gone, round, client, localStep)) {
            throw new UncheckedIOException(new FileNotFoundException("injected missing file (" + FILE_GONE_PROPERTY + "=" + gone + ")"));
        }
    }

    private static boolean at(String spec, int round, int client, int localStep) {
        String[] p = spec == null ? new String[0] : spec.split(":");
        return p.length == 3 && Integer.parseInt(p[0]) == round + 1 && Integer.parseInt(p[1]) == client
                && Integer.parseInt(p[2]) == localStep;
    }

    static void afterRound(int round) {
        KillPoint.reach("round.end");
        String stop = System.getProperty(STOP_PROPERTY);
        if (stop != null && Integer.parseInt(stop) == round + 1) {
            throw new IllegalStateException("injected stop after round " + stop + " (" + STOP_PROPERTY + ")");
        }
    }
}
