package org.splitlora.datasets.partition;

import org.splitlora.datasets.EnumOption;

/** How training examples are spread over clients. */
public enum PartitionMethod {
    /** Seeded shuffle, equal shares. */
    IID,
    /** Per label class, Dirichlet(α) proportions over clients. */
    DIRICHLET,
    /** SplitFT: classes are K quantile buckets of tokenized length, then Dirichlet(α) per bucket. */
    LENGTH_DIRICHLET,
    /**
     * Given: every distinct label is one client (the natural partition of data that arrives by
     * user or site), clients numbered in label order, numerically when every label is an integer.
     */
    LABEL;

    public static PartitionMethod parse(String s) {
        return EnumOption.parse(PartitionMethod.class, s, "partition");
    }
}
