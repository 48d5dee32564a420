package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;
import org.splitlora.model.config.ModelConfig;

/**
 * {@code fedavg}: holders of one rank average A and B separately (SplitLoRA, FedLoRA); holders of
 * different ranks are averaged exactly in ΔW space and re-factored to the largest rank.
 */
final class FactorAverage implements Aggregator {

    @Override
    public Result aggregate(List<Holder> holders, Map<String, float[]> previous, ModelConfig config, long seed) {
        return BlockAggregation.perBlock(holders, previous, config, (base, having, unused, io, out) -> BlockAggregation.sameRank(having, base, io)
                ? BlockAggregation.averageFactors(base, having, out)
                : BlockAggregation.averageDeltas(base, having, io, seed, out));
    }
}
