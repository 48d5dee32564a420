package org.splitlora.splitft;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The SplitFT rule: a client whose compute is fast (seconds per block and token at most the
 * round's mean) and whose model is better than average (local loss at most the round's mean)
 * takes gamma more blocks; a slow or worse one gives gamma blocks back to the server.
 *
 * <p>SplitFT measures quality by each client's local validation loss. Our clients hold no
 * validation split and a split-model evaluation would cost extra server passes, so the quality
 * signal is the client's mean training loss of the round, on its own data.
 */
final class SplitFtPolicy implements CutPolicy {

    private final int minCut;
    private final int maxCut;
    private final int gamma;

    SplitFtPolicy(int minCut, int maxCut, int gamma) {
        this.minCut = minCut;
        this.maxCut = maxCut;
        this.gamma = gamma;
    }

    @Override
    public List<CutDecision> decide(List<ClientRound> round) {
        double speed = round.stream().mapToDouble(ClientRound::secondsPerBlockToken).average().orElse(0);
        double loss = round.stream().mapToDouble(ClientRound::loss).average().orElse(0);
        List<CutDecision> out = new ArrayList<>();
        for (ClientRound c : round) {
            boolean fast = c.secondsPerBlockToken() <= speed;
            boolean better = c.loss() <= loss;
            int to = CutPolicy.clamp(c.cut(), fast && better ? gamma : -gamma, minCut, maxCut);
            out.add(new CutDecision(c.client(), c.cut(), to, String.format(Locale.ROOT,
                    "%s (%.3g s/block/token vs mean %.3g), %s (loss %.4f vs mean %.4f)", fast ? "fast" : "slow",
                    c.secondsPerBlockToken(), speed, better ? "better" : "worse", c.loss(), loss)));
        }
        return out;
    }
}
