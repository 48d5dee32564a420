package org.splitlora.aggregation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The aggregators {@code federation.aggregation} can name. Adding one is a class plus a line
 * here (and its keys under {@code federation.NAME} in defaults.conf when it has settings).
 */
public final class Aggregators {

    private static final Map<String, Function<AggregatorSettings, Aggregator>> BY_NAME = new LinkedHashMap<>();

    static {
        BY_NAME.put("fedavg", s -> new FactorAverage());
        BY_NAME.put("fedavg-svd", s -> new DeltaAverage());
        BY_NAME.put("nested", s -> new NestedRankAverage());
        BY_NAME.put("fedadam", FedAdam::new);
        BY_NAME.put("server-adamw", ServerAdamW::new);
    }

    private Aggregators() {}

    public static Set<String> names() {
        return Collections.unmodifiableSet(BY_NAME.keySet());
    }

    /** A fresh aggregator; its settings are checked here, so a config can validate by making one. */
    public static Aggregator of(String name, AggregatorSettings settings) {
        Function<AggregatorSettings, Aggregator> make = BY_NAME.get(name);
        if (make == null) {
            throw new IllegalArgumentException("unknown aggregation '" + name + "', expected one of " + BY_NAME.keySet());
        }
        return make.apply(settings);
    }
}
