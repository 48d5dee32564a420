package org.splitlora.federation;

import org.splitlora.store.RunStore;

/** Writes the run's checkpoint after every round (the state {@code train --resume} continues from). */
public final class CheckpointWriter implements RoundListener {

    private final RunStore run;
    private final Checkpoint.Header header;

    public CheckpointWriter(RunStore run, Checkpoint.Header header) {
        this.run = run;
        this.header = header;
    }

    @Override
    public void onRound(RoundResult r) {
        Checkpoint.write(run, r.state(), header);
    }
}
