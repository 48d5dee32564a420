package org.splitlora.federation;

import java.util.Map;
import org.splitlora.split.ServerSegment;
import org.splitlora.train.AdamW;

/**
 * Everything a run needs to continue exactly after {@code completedRounds} rounds: the global
 * client-side adapters (all adapters in FL and central), the split server's adapters and optimizer,
 * each client's optimizer state and batches consumed, and the centralized trainer's optimizer.
 */
public record RunState(
        int completedRounds,
        Map<String, float[]> clientLora,
        ServerSegment.Snapshot server,
        Map<Integer, AdamW.State> clientOptimizers,
        Map<Integer, Long> batchesDone,
        AdamW.State centralOptimizer) {}
