package org.splitlora.datasets.partition;

import java.io.Serializable;

/**
 * A partition's parameters, validated on construction; errors name the option.
 *
 * @param alpha Dirichlet concentration (dirichlet, length-dirichlet): 0.1 is strongly non-IID,
 *     100 close to IID
 * @param buckets number of length quantile buckets (length-dirichlet)
 * @param minExamples every client must get at least this many examples; Dirichlet partitions
 *     are re-drawn until they do, up to {@code maxDraws} times
 */
public record PartitionSpec(
        PartitionMethod method, int clients, double alpha, int buckets, int minExamples, int maxDraws, long seed)
        implements Serializable {

    public static final double DEFAULT_ALPHA = 0.5;
    public static final int DEFAULT_BUCKETS = 10;
    public static final int DEFAULT_MAX_DRAWS = 1000;

    public PartitionSpec {
        if (method == null) {
            throw new IllegalArgumentException("partition: must be set");
        }
        if (clients < 1) {
            throw new IllegalArgumentException("clients: must be ≥ 1, got " + clients);
        }
        if ((method == PartitionMethod.DIRICHLET || method == PartitionMethod.LENGTH_DIRICHLET)
                && !(alpha > 0 && Double.isFinite(alpha))) {
            throw new IllegalArgumentException("alpha: must be a finite number > 0, got " + alpha);
        }
        if (method == PartitionMethod.LENGTH_DIRICHLET && buckets < 1) {
            throw new IllegalArgumentException("buckets: must be ≥ 1, got " + buckets);
        }
        if (minExamples < 1) {
            throw new IllegalArgumentException("min-examples: must be ≥ 1 (no client may be left empty), got " + minExamples);
        }
        if (maxDraws < 1) {
            throw new IllegalArgumentException("max-draws: must be ≥ 1, got " + maxDraws);
        }
    }

    public static PartitionSpec iid(int clients, long seed) {
        return new PartitionSpec(PartitionMethod.IID, clients, DEFAULT_ALPHA, DEFAULT_BUCKETS, 1, DEFAULT_MAX_DRAWS, seed);
    }
}
