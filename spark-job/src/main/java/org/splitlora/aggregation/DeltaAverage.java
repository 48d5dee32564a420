package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;

/**
 * {@code fedavg-svd}: the weighted mean of the updates B·A, re-factored by truncated SVD to the
 * largest rank of the block's holders (the best approximation of the mean update).
 */
final class DeltaAverage implements Aggregator {

    @Override
    public Result aggregate(List<Holder> holders, Map<String, float[]> previous, Round round) {
        return BlockAggregation.perBlock(holders, previous, round.model(),
                (base, having, unused, io, out) -> BlockAggregation.averageDeltas(base, having, io, round.seed(), out));
    }
}
