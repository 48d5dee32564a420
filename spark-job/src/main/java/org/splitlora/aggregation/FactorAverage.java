package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;

/**
 * {@code fedavg}: holders of one rank average A and B separately (SplitLoRA, FedLoRA); holders of
 * different ranks are averaged exactly in ΔW space and re-factored to the largest rank.
 */
final class FactorAverage implements Aggregator {

    @Override
    public Result aggregate(List<Holder> holders, Map<String, float[]> previous, Round round) {
        return BlockAggregation.perBlock(holders, previous, round.model(), (base, having, unused, io, out) -> BlockAggregation.sameRank(having, base, io)
                ? BlockAggregation.averageFactors(base, having, out)
                : BlockAggregation.averageDeltas(base, having, io, round.seed(), out));
    }
}
