package org.splitlora.split;

import java.util.Map;
import java.util.function.IntFunction;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;

/**
 * {@link ServerVersion#V2}, one shared server: unit {@code block.J} holds block J at
 * {@code lora.rank} and serves every client below its cut (so a block trains on the rows of all
 * clients that reach it, whatever their cuts); where {@code lora.cutRank} gives a cut block another
 * rank, unit {@code cut.K} holds block K at that rank for the clients at cut K. All units step
 * together as one model (one gradient-norm clip).
 */
final class SharedLayout implements AdapterLayout {

    private final AdapterUnits units;
    private final LoraSpec base;
    private final IntFunction<LoraSpec> specAtCut;
    private final int layers;

    SharedLayout(AdapterUnits units, LoraSpec base, IntFunction<LoraSpec> specAtCut, int layers) {
        this.units = units;
        this.base = base;
        this.specAtCut = specAtCut;
        this.layers = layers;
    }

    @Override
    public void startRound(Map<Integer, Integer> cuts, ServerSegment.StartValues start) {
        cuts.forEach((client, cut) -> {
            for (int j = separateCutBlock(cut) ? cut + 1 : cut; j < layers; j++) {
                units.use(blockUnit(j), base, j, j + 1, start).clients.add(client);
            }
            if (separateCutBlock(cut)) {
                units.use(cutUnit(cut), specAtCut.apply(cut), cut, cut + 1, start).clients.add(client);
            }
        });
    }

    /** Whether clients at {@code cut} run block cut at another rank than the shared block. */
    private boolean separateCutBlock(int cut) {
        return specAtCut.apply(cut).rank(cut) != base.rank(cut);
    }

    private static String blockUnit(int layer) {
        return "block." + layer;
    }

    private static String cutUnit(int cut) {
        return "cut." + cut;
    }

    @Override
    public boolean sharesPasses() {
        return true;
    }

    @Override
    public LoraAdapters adapters(int client, int cut, int layer) {
        return units.get(layer == cut && separateCutBlock(cut) ? cutUnit(cut) : blockUnit(layer)).lora;
    }

    @Override
    public boolean stepsTogether() {
        return true;
    }
}
