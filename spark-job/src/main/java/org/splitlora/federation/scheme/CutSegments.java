package org.splitlora.federation.scheme;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.config.TrainConfig;
import org.splitlora.federation.ClientStage;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.splitft.ClientRound;
import org.splitlora.splitft.CutDecision;
import org.splitlora.splitft.CutPolicy;

/**
 * Split clients: each trains the blocks below its own cut (all start at split.cut) with the ranks
 * of lora at that cut; after a round the cut policy may move the cuts of the round's clients.
 */
final class CutSegments implements ClientSegments {

    private static final Logger LOG = LoggerFactory.getLogger(CutSegments.class);
    /** The cuts of sfl and sl: where split.cut puts them, the whole run, with no decisions to report. */
    static final CutPolicy STAY = round -> List.of();

    private final TrainConfig cfg;
    private final CutPolicy policy;
    private final Map<Integer, Integer> cuts = new TreeMap<>();

    CutSegments(TrainConfig cfg, List<Integer> clients, CutPolicy policy) {
        this.cfg = cfg;
        this.policy = policy;
        for (int c : clients) {
            cuts.put(c, cfg.split().cut());
        }
    }

    @Override
    public boolean split() {
        return true;
    }

    @Override
    public Map<Integer, Integer> layers(List<Integer> clients) {
        Map<Integer, Integer> out = new TreeMap<>();
        for (int c : clients) {
            out.put(c, cuts.get(c));
        }
        return out;
    }

    @Override
    public LoraSpec spec(int layers) {
        return cfg.loraAtCut(layers);
    }

    @Override
    public Map<Integer, Integer> cuts(List<Integer> clients) {
        return layers(clients);
    }

    @Override
    public List<CutDecision> afterRound(int round, List<ClientUpdate> updates, ClientStage stage) {
        List<ClientRound> seen = new ArrayList<>();
        for (ClientUpdate u : updates) {
            seen.add(new ClientRound(u.clientId(), u.layers(), u.computeSecondsPerStep(), u.tokens() / (double) Math.max(1, u.steps()),
                    u.meanLoss()));
        }
        List<CutDecision> decisions = policy.decide(seen);
        for (CutDecision d : decisions) {
            if (d.to() != d.from()) {
                cuts.put(d.client(), d.to());
                stage.restartOptimizer(d.client());
            }
            LOG.info("round {}: client {} cut {} -> {}: {}", round + 1, d.client(), d.from(), d.to(), d.reason());
        }
        return decisions;
    }

    @Override
    public Map<Integer, Integer> checkpoint() {
        return Map.copyOf(cuts);
    }

    @Override
    public void restore(Map<Integer, Integer> checkpointed) {
        cuts.putAll(checkpointed);
    }
}
