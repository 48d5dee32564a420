package org.splitlora.federation;

import java.util.List;
import java.util.Map;
import org.splitlora.config.RunMode;

/**
 * One finished round: who trained, the mean training loss, the validation loss when evaluated
 * (NaN otherwise), training and total seconds, throughput, split traffic (activations and
 * gradients) and adapter traffic (the adapters broadcast to and returned by the clients), each client's update statistics, and the adapters of
 * the whole model after aggregation (client side and server side merged), and the state to
 * resume from.
 */
public record RoundResult(
        int round,
        int rounds,
        RunMode mode,
        List<Integer> clients,
        double trainLoss,
        double valLoss,
        long tokens,
        double trainSeconds,
        double seconds,
        double elapsedSeconds,
        long bytesUp,
        long bytesDown,
        long loraBytesUp,
        long loraBytesDown,
        List<ClientUpdate> updates,
        Map<String, float[]> adapters,
        RunState state) {

    public boolean evaluated() {
        return !Double.isNaN(valLoss);
    }

    /** Training throughput of the round (evaluation excluded). */
    public double tokensPerSecond() {
        return tokens / Math.max(1e-9, trainSeconds);
    }
}
