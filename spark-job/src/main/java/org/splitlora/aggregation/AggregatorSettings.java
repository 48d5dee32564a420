package org.splitlora.aggregation;

import org.splitlora.train.OptimizerConfig;

/**
 * An aggregator's own keys, {@code federation.NAME.KEY} in the run configuration, read with the
 * range checks and error texts (naming the file or --set and the key) of the rest of the config.
 */
public interface AggregatorSettings {

    /** A number in [min, max] (open at an end when that end's flag says so). */
    double number(String key, double min, boolean minOpen, double max, boolean maxOpen);

    /** The run's optimizer settings ({@code optimizer.*}), for an aggregator that optimizes as the clients do. */
    OptimizerConfig runOptimizer();
}
