package org.splitlora.federation;

import java.util.Locale;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.peft.PeftAdapter;
import org.splitlora.store.RunStore;
import org.splitlora.util.KillPoint;

/**
 * Exports the whole model's adapters in HF PEFT format after every round: {@code
 * adapters/round-NNNN/} and {@code adapter/} (always the latest), each swapped in whole.
 */
public final class AdapterExport implements RoundListener {

    private final RunStore run;
    private final ModelConfig config;
    private final String baseModel;

    public AdapterExport(RunStore run, ModelConfig config, String baseModel) {
        this.run = run;
        this.config = config;
        this.baseModel = baseModel;
    }

    @Override
    public void onRound(RoundResult r) {
        write(String.format(Locale.ROOT, "adapters/round-%04d", r.round() + 1), r);
        KillPoint.reach("export.between-adapters");
        write("adapter", r);
    }

    private void write(String dir, RoundResult r) {
        run.publishDirectory(dir, d -> PeftAdapter.write(d, config, r.adapterSpec(), r.adapters(), baseModel));
    }
}
