package org.splitlora.model.lora;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which projections get LoRA and with what rank, alpha and dropout. The rank may be set per
 * layer (SplitFT's reduced rank at the cut); the scaling is alpha / rank of that layer, as PEFT's
 * rank_pattern does.
 */
public record LoraSpec(Set<LoraTarget> targets, int rank, double alpha, double dropout, Map<Integer, Integer> layerRanks)
        implements java.io.Serializable {

    public LoraSpec {
        if (targets == null || targets.isEmpty()) {
            throw new IllegalArgumentException("lora.targets must name at least one projection");
        }
        if (rank <= 0) {
            throw new IllegalArgumentException("lora.rank must be > 0, got " + rank);
        }
        if (!(alpha > 0)) {
            throw new IllegalArgumentException("lora.alpha must be > 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora.dropout must be in [0, 1), got " + dropout);
        }
        for (Map.Entry<Integer, Integer> e : layerRanks.entrySet()) {
            if (e.getValue() <= 0) {
                throw new IllegalArgumentException("rank of layer " + e.getKey() + " must be > 0, got " + e.getValue());
            }
        }
        targets = Collections.unmodifiableSet(EnumSet.copyOf(targets));
        layerRanks = Collections.unmodifiableMap(new TreeMap<>(layerRanks));
    }

    /** The SplitLoRA default: q and v, rank 4, alpha 32, dropout 0.1. */
    public static LoraSpec of(Set<LoraTarget> targets, int rank, double alpha, double dropout) {
        return new LoraSpec(targets, rank, alpha, dropout, Map.of());
    }

    /**
     * This spec with SplitFT's reduced rank on both sides of a cut: {@code cutRank} for blocks
     * cut-1 (the client's last) and cut (the server's first), the base rank elsewhere; 0 or the base
     * rank means no reduction.
     */
    public LoraSpec atCut(int cut, int cutRank) {
        return withLayerRanks(cutRank > 0 && cutRank != rank ? Map.of(cut - 1, cutRank, cut, cutRank) : Map.of());
    }

    /** This spec with the given per-layer ranks (the others get the base rank). */
    public LoraSpec withLayerRanks(Map<Integer, Integer> ranks) {
        Map<Integer, Integer> differing = new TreeMap<>();
        ranks.forEach((layer, r) -> {
            if (r != rank) {
                differing.put(layer, r);
            }
        });
        return new LoraSpec(targets, rank, alpha, dropout, differing);
    }

    public int rank(int layer) {
        return layerRanks.getOrDefault(layer, rank);
    }

    public double scaling(int layer) {
        return alpha / rank(layer);
    }
}
