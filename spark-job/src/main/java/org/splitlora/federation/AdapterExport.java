package org.splitlora.federation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.peft.PeftAdapter;
import org.splitlora.util.Directories;

/**
 * Exports the whole model's adapters in HF PEFT format after every round: {@code
 * adapters/round-NNNN/} and {@code adapter/} (always the latest), each swapped in whole.
 */
public final class AdapterExport implements RoundListener {

    private final Path runDir;
    private final ModelConfig config;
    private final String baseModel;

    public AdapterExport(Path runDir, ModelConfig config, String baseModel) {
        this.runDir = runDir;
        this.config = config;
        this.baseModel = baseModel;
    }

    @Override
    public void onRound(RoundResult r) {
        Path round = runDir.resolve("adapters").resolve(String.format(Locale.ROOT, "round-%04d", r.round() + 1));
        writeSwapped(round, r);
        writeSwapped(runDir.resolve("adapter"), r);
    }

    private void writeSwapped(Path target, RoundResult r) {
        Path tmp = Directories.stagingFor(target);
        PeftAdapter.write(tmp, config, r.adapterSpec(), r.adapters(), baseModel);
        try {
            Directories.replace(tmp, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot export adapter to " + target + ": " + e.getMessage(), e);
        }
    }
}
