package org.splitlora.federation;

import java.nio.file.Path;

/** Writes the run's checkpoint after every round (the state {@code train --resume} continues from). */
public final class CheckpointWriter implements RoundListener {

    private final Path runDir;
    private final Checkpoint.Header header;

    public CheckpointWriter(Path runDir, Checkpoint.Header header) {
        this.runDir = runDir;
        this.header = header;
    }

    @Override
    public void onRound(RoundResult r) {
        Checkpoint.write(runDir, r.state(), header);
    }
}
