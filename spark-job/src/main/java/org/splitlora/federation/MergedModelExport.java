package org.splitlora.federation;

import java.nio.file.Path;
import org.splitlora.model.ModelSource;
import org.splitlora.model.peft.MergedModel;

/** After the last round, writes {@code merged/}: the base model with the final adapters merged in. */
public final class MergedModelExport implements RoundListener {

    private final Path runDir;
    private final ModelSource source;

    public MergedModelExport(Path runDir, ModelSource source) {
        this.runDir = runDir;
        this.source = source;
    }

    @Override
    public void onRound(RoundResult r) {
        if (r.round() + 1 == r.rounds()) {
            MergedModel.write(runDir.resolve("merged"), source, r.adapterSpec(), r.adapters());
        }
    }
}
