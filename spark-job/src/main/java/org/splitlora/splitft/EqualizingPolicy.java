package org.splitlora.splitft;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compute only: in lock-step every client waits for the slowest, so cuts are chosen to even out
 * the clients' compute per step. Each client's step time is modelled as (its seconds per block)
 * × cut; the target is the round's mean step time, and a client moves toward the cut that would
 * meet it: slow clients give blocks to the server, fast ones take blocks, and stragglers finish
 * with the others.
 */
final class EqualizingPolicy implements CutPolicy {

    private final int minCut;
    private final int maxCut;
    private final int gamma;

    EqualizingPolicy(int minCut, int maxCut, int gamma) {
        this.minCut = minCut;
        this.maxCut = maxCut;
        this.gamma = gamma;
    }

    @Override
    public List<CutDecision> decide(List<ClientRound> round) {
        double target = round.stream().mapToDouble(ClientRound::computeSecondsPerStep).average().orElse(0);
        List<CutDecision> out = new ArrayList<>();
        for (ClientRound c : round) {
            double perBlock = c.computeSecondsPerStep() / c.cut();
            int ideal = perBlock > 0 ? (int) Math.round(target / perBlock) : c.cut();
            int delta = Math.max(-gamma, Math.min(gamma, ideal - c.cut()));
            int to = CutPolicy.clamp(c.cut(), delta, minCut, maxCut);
            out.add(new CutDecision(c.client(), c.cut(), to, String.format(Locale.ROOT,
                    "step %.3f s at cut %d vs mean %.3f s: %d blocks would meet it", c.computeSecondsPerStep(), c.cut(),
                    target, ideal)));
        }
        return out;
    }
}
