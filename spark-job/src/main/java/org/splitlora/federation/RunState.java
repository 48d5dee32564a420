package org.splitlora.federation;

import java.util.Map;
import org.splitlora.split.ServerSegment;
import org.splitlora.train.AdamW;

/**
 * Everything a run needs to continue exactly after {@code completedRounds} rounds: the whole
 * model's aggregated adapters, the split server's units (adapters and optimizers), each client's
 * optimizer state and batches consumed, the centralized trainer's optimizer, each client's
 * cut (split modes), and the aggregator's own state (tensors by name; empty for a stateless one).
 */
public record RunState(
        int completedRounds,
        Map<String, float[]> global,
        ServerSegment.Snapshot server,
        Map<Integer, AdamW.State> clientOptimizers,
        Map<Integer, Long> batchesDone,
        AdamW.State centralOptimizer,
        Map<Integer, Integer> cuts,
        Map<String, float[]> aggregator) {}
