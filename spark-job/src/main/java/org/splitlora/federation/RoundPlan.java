package org.splitlora.federation;

import java.io.Serializable;
import java.util.Map;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.train.AdamW;
import org.splitlora.train.ClientOptimizer;
import org.splitlora.train.OptimizerConfig;
import org.splitlora.train.SimulatedSpeed;

/**
 * Everything the clients of one round (or one sequential-split turn) need, broadcast once: the
 * model, each client's segment and the adapters it starts from, each client's optimizer state and
 * how many batches it has consumed so far, the schedule, and the split server endpoint (null when
 * the clients train the whole model).
 *
 * @param layers per client, the blocks [0, layers) it trains: its cut, or all layers in FL
 * @param starts per number of layers, the adapters' ranks and the values a client starts from
 * @param speeds per client, its simulated compute speed (clients.speed)
 */
public record RoundPlan(
        String runId,
        String model,
        Map<Integer, Integer> layers,
        Map<Integer, SegmentStart> starts,
        Map<Integer, SimulatedSpeed> speeds,
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
        Map<Integer, AdamW.State> optimizerStates,
        Map<Integer, Long> batchesDone,
        SplitEndpoint server) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** A client segment's adapter ranks and start values. */
    public record SegmentStart(LoraSpec spec, Map<String, float[]> lora) implements Serializable {
        private static final long serialVersionUID = 1L;
    }
}
