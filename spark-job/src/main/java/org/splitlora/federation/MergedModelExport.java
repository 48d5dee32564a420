package org.splitlora.federation;

import org.splitlora.model.ModelSource;
import org.splitlora.model.peft.MergedModel;
import org.splitlora.store.RunStore;

/** After the last round, writes {@code merged/}: the base model with the final adapters merged in, swapped in whole. */
public final class MergedModelExport implements RoundListener {

    private final RunStore run;
    private final ModelSource source;

    public MergedModelExport(RunStore run, ModelSource source) {
        this.run = run;
        this.source = source;
    }

    @Override
    public void onRound(RoundResult r) {
        if (r.round() + 1 == r.rounds()) {
            run.publishDirectory("merged", d -> MergedModel.write(d, source, r.adapterSpec(), r.adapters()));
        }
    }
}
