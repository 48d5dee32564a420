package org.splitlora.split;

import java.util.Map;
import java.util.function.IntFunction;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;

/**
 * {@link ServerVersion#V1}: unit {@code client.C} holds client C's own copy of blocks [cut, L) at
 * the ranks of its cut, trained on its activations alone; each copy steps on its own.
 */
final class PerClientLayout implements AdapterLayout {

    private final AdapterUnits units;
    private final IntFunction<LoraSpec> specAtCut;
    private final int layers;

    PerClientLayout(AdapterUnits units, IntFunction<LoraSpec> specAtCut, int layers) {
        this.units = units;
        this.specAtCut = specAtCut;
        this.layers = layers;
    }

    @Override
    public void startRound(Map<Integer, Integer> cuts, ServerSegment.StartValues start) {
        cuts.forEach((client, cut) -> units.use(unit(client), specAtCut.apply(cut), cut, layers, start).clients.add(client));
    }

    private static String unit(int client) {
        return "client." + client;
    }

    @Override
    public boolean sharesPasses() {
        return false;
    }

    @Override
    public LoraAdapters adapters(int client, int cut, int layer) {
        return units.get(unit(client)).lora;
    }

    @Override
    public boolean stepsTogether() {
        return false;
    }
}
