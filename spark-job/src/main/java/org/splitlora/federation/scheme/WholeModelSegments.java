package org.splitlora.federation.scheme;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splitlora.federation.ClientStage;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.splitft.CutDecision;

/** FedLoRA's clients: every one trains all blocks at the run's adapter ranks; there is no cut. */
final class WholeModelSegments implements ClientSegments {

    private final LoraSpec lora;
    private final int numLayers;

    WholeModelSegments(LoraSpec lora, int numLayers) {
        this.lora = lora;
        this.numLayers = numLayers;
    }

    @Override
    public boolean split() {
        return false;
    }

    @Override
    public Map<Integer, Integer> layers(List<Integer> clients) {
        Map<Integer, Integer> out = new TreeMap<>();
        for (int c : clients) {
            out.put(c, numLayers);
        }
        return out;
    }

    @Override
    public LoraSpec spec(int layers) {
        return lora;
    }

    @Override
    public Map<Integer, Integer> cuts(List<Integer> clients) {
        return Map.of();
    }

    @Override
    public List<CutDecision> afterRound(int round, List<ClientUpdate> updates, ClientStage stage) {
        return List.of();
    }

    @Override
    public Map<Integer, Integer> checkpoint() {
        return Map.of();
    }

    @Override
    public void restore(Map<Integer, Integer> cuts) {}
}
