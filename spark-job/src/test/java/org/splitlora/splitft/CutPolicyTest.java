package org.splitlora.splitft;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.splitlora.config.TrainConfig;

/** The cut policies' rules on measured rounds. */
class CutPolicyTest {

    private static List<Integer> next(TrainConfig.CutPolicyKind kind, int minCut, int maxCut, int gamma, List<ClientRound> round) {
        return CutPolicy.of(new TrainConfig.SplitFt(kind, minCut, maxCut, gamma, 0)).decide(round).stream()
                .map(CutDecision::to).toList();
    }

    @Test
    void fixedKeepsEveryCut() {
        assertEquals(List.of(2, 3), next(TrainConfig.CutPolicyKind.FIXED, 1, 4, 1, List.of(
                new ClientRound(0, 2, 0.1, 100, 2.0), new ClientRound(1, 3, 9.0, 100, 9.0))));
    }

    @Test
    void splitFtGivesFastBetterClientsMoreBlocksAndSlowOrWorseOnesFewer() {
        // seconds per block per token: 0.01, 0.01, 0.01, 0.04 (mean 0.0175); losses 1.0, 3.0, 1.5, 1.0 (mean 1.625)
        List<ClientRound> round = List.of(
                new ClientRound(0, 2, 2.0, 100, 1.0),   // fast, better: up
                new ClientRound(1, 2, 2.0, 100, 3.0),   // fast, worse: down
                new ClientRound(2, 4, 4.0, 100, 1.5),   // fast, better, at maxCut: stays
                new ClientRound(3, 2, 8.0, 100, 1.0));  // slow: down
        assertEquals(List.of(3, 1, 4, 1), next(TrainConfig.CutPolicyKind.SPLITFT, 1, 4, 1, round));
        // gamma 2, clamped to [1, 4]
        assertEquals(List.of(4, 1, 4, 1), next(TrainConfig.CutPolicyKind.SPLITFT, 1, 4, 2, round));
    }

    @Test
    void equalizeMovesCutsTowardEqualStepTimes() {
        // per-block step seconds: 1, 1, 1, 4, 4 at cut 2 -> step times 2, 2, 2, 8, 8 (mean 4.4)
        List<ClientRound> round = List.of(
                new ClientRound(0, 2, 2.0, 100, 1), new ClientRound(1, 2, 2.0, 100, 1), new ClientRound(2, 2, 2.0, 100, 1),
                new ClientRound(3, 2, 8.0, 100, 1), new ClientRound(4, 2, 8.0, 100, 1));
        // fast clients would meet 4.4 s at 4 blocks but move one block a round; slow ones at 1
        assertEquals(List.of(3, 3, 3, 1, 1), next(TrainConfig.CutPolicyKind.EQUALIZE, 1, 4, 1, round));
        assertEquals(List.of(4, 4, 4, 1, 1), next(TrainConfig.CutPolicyKind.EQUALIZE, 1, 4, 3, round));
        // balanced clients stay
        assertEquals(List.of(2, 3), next(TrainConfig.CutPolicyKind.EQUALIZE, 1, 4, 1, List.of(
                new ClientRound(0, 2, 2.0, 100, 1), new ClientRound(1, 3, 2.1, 100, 1))));
    }
}
