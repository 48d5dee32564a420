package org.splitlora.splitft;

import java.util.ArrayList;
import java.util.List;
import org.splitlora.config.TrainConfig;

/**
 * Moves each client's cut after a round, within [minCut, maxCut] and by at most gamma blocks.
 * Clients not in the round keep their cut.
 */
public interface CutPolicy {

    /** The next cut of every client of the round, with the reason. */
    List<CutDecision> decide(List<ClientRound> round);

    static CutPolicy of(TrainConfig.SplitFt cfg) {
        return switch (cfg.policy()) {
            case FIXED -> round -> {
                List<CutDecision> out = new ArrayList<>();
                for (ClientRound c : round) {
                    out.add(new CutDecision(c.client(), c.cut(), c.cut(), "fixed"));
                }
                return out;
            };
            case SPLITFT -> new SplitFtPolicy(cfg.minCut(), cfg.maxCut(), cfg.gamma());
            case EQUALIZE -> new EqualizingPolicy(cfg.minCut(), cfg.maxCut(), cfg.gamma());
        };
    }

    /** {@code cut} moved by {@code delta}, kept in [minCut, maxCut]. */
    static int clamp(int cut, int delta, int minCut, int maxCut) {
        return Math.max(minCut, Math.min(maxCut, cut + delta));
    }
}
