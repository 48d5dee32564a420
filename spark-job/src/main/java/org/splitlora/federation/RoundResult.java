package org.splitlora.federation;

import java.util.List;
import java.util.Map;
import org.splitlora.config.RunMode;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.splitft.CutDecision;

/**
 * One finished round: who trained, the mean training loss, the validation loss when evaluated
 * (NaN otherwise; NaN too when evaluated and diverged, which {@code evaluated} tells apart), training and total seconds, throughput, split traffic (activations and
 * gradients) and adapter traffic (the adapters broadcast to and returned by the clients), each
 * client's update statistics, the clients' cuts and the cut policy's decisions (split modes), the
 * truncation errors of re-factoring adapters to fewer ranks, the adapters of the whole model after
 * aggregation (client and server side) with their ranks, and the state to resume from.
 *
 * @param cuts each client's cut in this round (split modes; empty otherwise)
 * @param startTruncation largest relative Frobenius error of giving a holder the aggregate at a lower rank
 * @param aggregateTruncation largest relative Frobenius error of re-factoring a mixed-rank aggregate
 */
public record RoundResult(
        int round,
        int rounds,
        RunMode mode,
        List<Integer> clients,
        double trainLoss,
        double valLoss,
        boolean evaluated,
        long tokens,
        double trainSeconds,
        double seconds,
        double elapsedSeconds,
        long bytesUp,
        long bytesDown,
        long loraBytesUp,
        long loraBytesDown,
        List<ClientUpdate> updates,
        Map<Integer, Integer> cuts,
        List<CutDecision> cutDecisions,
        double startTruncation,
        double aggregateTruncation,
        Map<String, float[]> adapters,
        LoraSpec adapterSpec,
        RunState state) {

    /** Training throughput of the round (evaluation excluded). */
    public double tokensPerSecond() {
        return tokens / Math.max(1e-9, trainSeconds);
    }
}
