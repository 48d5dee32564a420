package org.splitlora.split;

import java.util.Map;
import java.util.function.IntFunction;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;

/**
 * How the server's adapters are laid out in {@link AdapterUnits}: which units serve which clients
 * this round, which unit runs a block for a client's rows, whether one pass may hold several
 * clients' rows, and how the units step. The tensor compute ({@link SegmentCompute}) asks it and
 * never looks at the server version.
 */
interface AdapterLayout {

    /** The layout of {@code version} over {@code units} of a model with {@code layers} blocks. */
    static AdapterLayout of(ServerVersion version, AdapterUnits units, LoraSpec base, IntFunction<LoraSpec> specAtCut, int layers) {
        return switch (version) {
            case V1 -> new PerClientLayout(units, specAtCut, layers);
            case V2 -> new SharedLayout(units, base, specAtCut, layers);
        };
    }

    /** Opens a round for clients at {@code cuts}: the units that serve them, loaded from {@code start}. */
    void startRound(Map<Integer, Integer> cuts, ServerSegment.StartValues start);

    /**
     * Whether one pass may hold the rows of several clients. Where it may, {@link #adapters} does
     * not depend on the client, and above a row's entry cut not on that cut either: rows that
     * entered the server at different cuts run a block together.
     */
    boolean sharesPasses();

    /** The adapters block {@code layer} runs with for the rows of {@code client}, which entered the server at block {@code cut}. */
    LoraAdapters adapters(int client, int cut, int layer);

    /** Whether the units in use are parts of one model, clipped by their joint gradient norm, or each stands alone. */
    boolean stepsTogether();
}
