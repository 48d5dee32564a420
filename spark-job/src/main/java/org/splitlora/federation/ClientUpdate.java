package org.splitlora.federation;

import java.io.Serializable;
import java.util.Map;
import org.splitlora.train.AdamW;

/**
 * What a client task returns to the driver: its trained adapters, optimizer state, sample count
 * (the FedAvg weight) and what the round cost it.
 *
 * @param computeSeconds client forward + backward
 * @param exchangeSeconds waiting for the server's gradients (transfer + server compute + lock-step wait)
 * @param serverSeconds server compute reported for this client's micro-batches
 */
public record ClientUpdate(
        int clientId,
        Map<String, float[]> lora,
        AdamW.State optimizer,
        long samples,
        int steps,
        double lossSum,
        long tokens,
        double seconds,
        double computeSeconds,
        double exchangeSeconds,
        double serverSeconds,
        long bytesUp,
        long bytesDown,
        int attempt) implements Serializable {

    private static final long serialVersionUID = 1L;

    public double meanLoss() {
        return lossSum / Math.max(1, steps);
    }
}
