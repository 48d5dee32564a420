package org.splitlora.datasets.partition;

import java.util.Locale;

/** How training examples are spread over clients. */
public enum PartitionMethod {
    /** Seeded shuffle, equal shares. */
    IID,
    /** Per label class, Dirichlet(α) proportions over clients. */
    DIRICHLET,
    /** SplitFT: classes are K quantile buckets of tokenized length, then Dirichlet(α) per bucket. */
    LENGTH_DIRICHLET;

    public static PartitionMethod parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "unknown partition '" + s + "' (expected iid, dirichlet or length-dirichlet)");
        }
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
