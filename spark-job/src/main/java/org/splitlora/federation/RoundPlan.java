package org.splitlora.federation;

import java.io.Serializable;
import java.util.Map;
import org.splitlora.config.RunMode;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.train.AdamW;
import org.splitlora.train.OptimizerConfig;

/**
 * Everything the clients of one round (or one sequential-split turn) need, broadcast once: the
 * model and segment, the adapters they start from, each client's optimizer state and how many
 * batches it has consumed so far, the schedule, and the split server endpoint (null for FL).
 *
 * @param layers the client trains blocks [0, layers): the cut, or all layers in FL
 */
public record RoundPlan(
        String runId,
        RunMode mode,
        String model,
        int layers,
        LoraSpec lora,
        OptimizerConfig optimizer,
        int batchSize,
        int microBatchSize,
        double labelSmoothing,
        long seed,
        int round,
        int firstStep,
        int localSteps,
        int totalSteps,
        Map<String, float[]> startLora,
        Map<Integer, AdamW.State> optimizerStates,
        Map<Integer, Long> batchesDone,
        SplitEndpoint server) implements Serializable {

    private static final long serialVersionUID = 1L;
}
