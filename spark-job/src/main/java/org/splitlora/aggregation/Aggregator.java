package org.splitlora.aggregation;

import java.util.List;
import java.util.Map;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;

/**
 * How a round's adapters become the next global ones (Flower's Strategy, for LoRA blocks). Every
 * round each holder — a client with the blocks below its cut, a split-server unit with blocks
 * above — starts from {@link #start} at its own ranks and returns trained adapters;
 * {@link #aggregate} combines them block by block. Adapters are named {@code layers.L.TARGET.lora_A|B}.
 *
 * <p>An aggregator may keep state across rounds (a server optimizer's moments): {@link #state}
 * is checkpointed with the run and handed back to {@link #restore} on resume, so a resumed run
 * continues exactly. Implementations register a name in {@link Aggregators}.
 */
public interface Aggregator {

    /**
     * A set of adapters (any range of layers) and its weight; {@code who} names it in errors. A
     * {@link Role#SERVER} holder is a split-server unit trained by the server's own optimizer; a
     * {@link Role#CLIENT} holder stepped with the client optimizer (a client, or a split-server
     * unit under an aggregator that {@link #aggregatesServerUnits}).
     */
    record Holder(String who, double weight, Map<String, float[]> lora, Role role) {}

    enum Role { CLIENT, SERVER }

    /**
     * Whether the split server's units are holders like clients: they step with the client
     * optimizer and this aggregator moves them (a server optimizer, which takes the adaptive step on
     * every holder's update). Otherwise the server trains its blocks with its own AdamW.
     */
    default boolean aggregatesServerUnits() {
        return false;
    }

    /**
     * The round being aggregated: the model, the seed for fresh directions, and the global step it
     * began at, of {@code totalSteps}.
     */
    record Round(ModelConfig model, long seed, int firstStep, int totalSteps) {}

    /** Adapter values, and the largest relative Frobenius error a change to fewer ranks made. */
    record Result(Map<String, float[]> adapters, double truncationError) {}

    /** The start adapters of layers [from, to) at the ranks of {@code spec}, from the global ones. */
    default Result start(Map<String, float[]> global, LoraSpec spec, int from, int to, ModelConfig config, long seed) {
        return BlockAggregation.toSpec(global, spec, from, to, config, seed);
    }

    /** The next global adapters from this round's holders; a block no one held keeps its value in {@code previous}. */
    Result aggregate(List<Holder> holders, Map<String, float[]> previous, Round round);

    /** What must survive a checkpoint for the next {@link #aggregate} to be exact (nothing by default). */
    default Map<String, float[]> state() {
        return Map.of();
    }

    /** Continues from a checkpointed {@link #state}. */
    default void restore(Map<String, float[]> state) {
        if (!state.isEmpty()) {
            throw new IllegalArgumentException("the checkpoint holds aggregator state " + state.keySet()
                    + ", but this aggregator keeps none (was federation.aggregation changed?)");
        }
    }
}
