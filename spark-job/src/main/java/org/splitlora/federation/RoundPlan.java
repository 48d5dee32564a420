package org.splitlora.federation;

import java.io.Serializable;
import java.util.Map;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.train.ClientOptimizer;
import org.splitlora.train.OptimizerConfig;

/**
 * What every client of one round (or one sequential-split turn) needs alike, broadcast once: the
 * model, the adapters a segment of each size starts from, the optimizer, the schedule, and the
 * split server endpoint (null when the clients train the whole model). Nothing in it is one
 * client's: each task's own segment, optimizer state and progress come in its partition
 * ({@link ClientStart}), so no client sees another's state and the broadcast does not grow with
 * the number of clients.
 *
 * @param device where the clients compute (devices.client), resolved on each executor
 * @param starts per number of layers, the adapters' ranks and the values a client starts from
 */
public record RoundPlan(
        String runId,
        String model,
        DeviceChoice device,
        Map<Integer, SegmentStart> starts,
        OptimizerConfig optimizer,
        ClientOptimizer clientOptimizer,
        int batchSize,
        int microBatchSize,
        double labelSmoothing,
        boolean gradientCheckpointing,
        long seed,
        int round,
        int firstStep,
        int localSteps,
        int totalSteps,
        SplitEndpoint server) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** A client segment's adapter ranks and start values. */
    public record SegmentStart(LoraSpec spec, Map<String, float[]> lora) implements Serializable {
        private static final long serialVersionUID = 1L;
    }
}
