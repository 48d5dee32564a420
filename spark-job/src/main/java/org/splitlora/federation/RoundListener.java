package org.splitlora.federation;

/** Cross-cutting concerns of a run (metrics, progress, checkpoints, export) hook in here. */
@FunctionalInterface
public interface RoundListener {

    /** After each round's aggregation (and evaluation, when due). */
    void onRound(RoundResult result);

    /** Combines listeners; each sees every event in order. */
    static RoundListener all(RoundListener... listeners) {
        return new RoundListener() {
            @Override
            public void onRound(RoundResult result) {
                for (RoundListener l : listeners) {
                    l.onRound(result);
                }
            }
        };
    }
}
