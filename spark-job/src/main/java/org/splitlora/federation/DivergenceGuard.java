package org.splitlora.federation;

import java.util.Locale;
import java.util.Map;

/**
 * Stops a run whose round produced a non-finite loss or adapter value (a too-high learning rate,
 * an overflow). It listens first, so the round's metrics, exported adapters and checkpoint are
 * never written: the last good checkpoint and {@code adapter/} stay as they were.
 */
public final class DivergenceGuard implements RoundListener {

    @Override
    public void onRound(RoundResult r) {
        String problem = null;
        if (!Double.isFinite(r.trainLoss())) {
            problem = "training loss " + r.trainLoss();
        } else if (r.evaluated() && !Double.isFinite(r.valLoss())) {
            problem = "validation loss " + r.valLoss();
        } else {
            for (ClientUpdate u : r.updates()) {
                if (!Double.isFinite(u.meanLoss())) {
                    problem = "client " + u.clientId() + "'s training loss " + u.meanLoss();
                    break;
                }
            }
        }
        if (problem == null) {
            problem = nonFinite(r.adapters());
        }
        if (problem != null) {
            String kept = r.round() == 0 ? "the run has no checkpoint yet"
                    : "the checkpoint and adapter/ of round " + r.round() + " are kept";
            throw new TrainingDiverged(String.format(Locale.ROOT, "round %d: training diverged (%s); nothing of this round was"
                    + " written, %s; lower optimizer.lr (or raise optimizer.warmupSteps) and start a new run", r.round() + 1, problem, kept));
        }
    }

    private static String nonFinite(Map<String, float[]> adapters) {
        for (Map.Entry<String, float[]> e : adapters.entrySet()) {
            for (float v : e.getValue()) {
                if (!Float.isFinite(v)) {
                    return "adapter " + e.getKey() + " holds " + v;
                }
            }
        }
        return null;
    }

    /** A run stopped because its numbers stopped being finite. */
    public static final class TrainingDiverged extends IllegalStateException {
        TrainingDiverged(String message) {
            super(message);
        }
    }
}
