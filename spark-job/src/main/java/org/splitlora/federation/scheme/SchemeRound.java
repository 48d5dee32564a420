package org.splitlora.federation.scheme;

import java.util.List;
import java.util.Map;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.split.ServerSegment;
import org.splitlora.splitft.CutDecision;

/**
 * What a scheme's round did.
 *
 * @param global the whole model's adapters after the round
 * @param updates the clients' updates, in the order they trained (by client id within a stage)
 * @param server the split server's state after the round; null without one
 * @param cuts each client's cut in the round (split schemes; empty otherwise)
 * @param decisions the cut policy's decisions after the round (empty when cuts do not move)
 * @param startTruncation largest relative Frobenius error of giving a holder the aggregate at a lower rank
 * @param aggregateTruncation largest relative Frobenius error of re-factoring a mixed-rank aggregate
 * @param adapterBytes adapter bytes sent to the clients, and as many returned (0 in the driver)
 */
public record SchemeRound(
        Map<String, float[]> global,
        List<ClientUpdate> updates,
        ServerSegment.Snapshot server,
        Map<Integer, Integer> cuts,
        List<CutDecision> decisions,
        double startTruncation,
        double aggregateTruncation,
        long adapterBytes) {}
