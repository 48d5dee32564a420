package org.splitlora.aggregation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraAverage;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.util.Seeds;

/**
 * The block-by-block machinery aggregators share. In a round every block is held by some clients
 * (the blocks below their cut) and split-server units (above it), each weighted by the samples (or
 * clients) it stands for; a block's holders may have different ranks (SplitFT's reduced rank at
 * the cut, cuts at different depths). {@link #perBlock} hands each held block's holders to a
 * {@link BlockRule}; blocks no one held keep their previous value.
 *
 * <p>{@link #toSpec} gives a holder its start for the next round: the aggregate of each block
 * re-factored to the holder's rank (truncated SVD down, zero-padded B up).
 */
final class BlockAggregation {

    private BlockAggregation() {}

    /** Combines one block's holders into {@code out}; returns the relative truncation error it made. */
    interface BlockRule {
        double combine(String base, List<Aggregator.Holder> having, Map<String, float[]> previous, int[] io,
                       Map<String, float[]> out);
    }

    static Aggregator.Result perBlock(List<Aggregator.Holder> holders, Map<String, float[]> previous, ModelConfig config,
                                      BlockRule rule) {
        TreeSet<String> blocks = new TreeSet<>();
        for (Aggregator.Holder h : holders) {
            blocks.addAll(bases(h.lora()));
        }
        blocks.addAll(bases(previous));
        Map<String, float[]> out = new TreeMap<>();
        double worst = 0;
        for (String base : blocks) {
            List<Aggregator.Holder> having = new ArrayList<>();
            for (Aggregator.Holder h : holders) {
                if (h.lora().containsKey(base + ".lora_A")) {
                    having.add(h);
                }
            }
            if (having.isEmpty()) {
                out.put(base + ".lora_A", previous.get(base + ".lora_A"));
                out.put(base + ".lora_B", previous.get(base + ".lora_B"));
                continue;
            }
            int[] io = LoraAdapters.dims(config, LoraAdapters.targetOf(base));
            for (Aggregator.Holder h : having) {
                rankOf(h, base, io); // shapes checked once for every rule
            }
            worst = Math.max(worst, rule.combine(base, having, previous, io, out));
        }
        return new Aggregator.Result(out, worst);
    }

    static boolean sameRank(List<Aggregator.Holder> having, String base, int[] io) {
        int first = rankOf(having.get(0), base, io);
        return having.stream().allMatch(h -> rankOf(h, base, io) == first);
    }

    /** The weighted means of A and of B (one rank); a single holder's factors as they are. */
    static double averageFactors(String base, List<Aggregator.Holder> having, Map<String, float[]> out) {
        if (having.size() == 1) {
            return keep(base, having.get(0), out);
        }
        List<Map<String, float[]>> values = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (Aggregator.Holder h : having) {
            values.add(Map.of(base + ".lora_A", h.lora().get(base + ".lora_A"), base + ".lora_B", h.lora().get(base + ".lora_B")));
            weights.add(h.weight());
        }
        out.putAll(LoraAverage.weighted(values, weights));
        return 0;
    }

    /**
     * The weighted mean of the updates (alpha/r_i)·B_i·A_i, re-factored at the largest rank (the
     * LoRA scaling of a block is alpha / its rank, alpha common to all holders); a single holder's
     * factors as they are.
     */
    static double averageDeltas(String base, List<Aggregator.Holder> having, int[] io, long seed, Map<String, float[]> out) {
        if (having.size() == 1) {
            return keep(base, having.get(0), out);
        }
        int[] ranks = new int[having.size()];
        int rank = 0;
        double total = 0;
        for (int i = 0; i < having.size(); i++) {
            ranks[i] = rankOf(having.get(i), base, io);
            rank = Math.max(rank, ranks[i]);
            total += having.get(i).weight();
        }
        List<DeltaWeights.Factors> factors = new ArrayList<>();
        for (int i = 0; i < having.size(); i++) {
            Aggregator.Holder h = having.get(i);
            // holder i's update is (alpha / r_i)·B_i·A_i; in units of the result's scaling alpha / rank
            double coefficient = h.weight() / total;
            if (ranks[i] != rank) {
                coefficient *= (double) rank / ranks[i];
            }
            factors.add(new DeltaWeights.Factors(DeltaWeights.matrix(h.lora().get(base + ".lora_B"), io[1], ranks[i]),
                    DeltaWeights.matrix(h.lora().get(base + ".lora_A"), ranks[i], io[0]), coefficient));
        }
        DeltaWeights.Refactored r = DeltaWeights.refactor(factors, rank, fill(seed, base));
        out.put(base + ".lora_B", DeltaWeights.flat(r.b()));
        out.put(base + ".lora_A", DeltaWeights.flat(r.a()));
        return r.truncationError();
    }

    private static double keep(String base, Aggregator.Holder only, Map<String, float[]> out) {
        out.put(base + ".lora_A", only.lora().get(base + ".lora_A"));
        out.put(base + ".lora_B", only.lora().get(base + ".lora_B"));
        return 0;
    }

    /**
     * The adapters of layers [from, to) at the ranks of {@code spec}: each block of {@code
     * aggregate} as is when its rank matches, else with the same update (alpha/r)·B·A at the new
     * rank — truncated by SVD to a smaller rank (the best approximation), or padded to a larger one
     * by keeping A and B (B rescaled for the new alpha/r), adding fresh A rows and zero B columns
     * (exact).
     */
    static Aggregator.Result toSpec(Map<String, float[]> aggregate, LoraSpec spec, int from, int to, ModelConfig config, long seed) {
        return toSpec(aggregate, spec, from, to, config, seed, (base, a, b, io, have, want, out) -> {
            DeltaWeights.Factors one = new DeltaWeights.Factors(DeltaWeights.matrix(b, io[1], have),
                    DeltaWeights.matrix(a, have, io[0]), (double) want / have);
            DeltaWeights.Refactored r = DeltaWeights.refactor(List.of(one), want, fill(seed, base));
            out.put(base + ".lora_B", DeltaWeights.flat(r.b()));
            out.put(base + ".lora_A", DeltaWeights.flat(r.a()));
            return r.truncationError();
        });
    }

    /** Writes block {@code base} at the smaller rank {@code want} into {@code out}; returns the relative error made. */
    interface RankDown {
        double apply(String base, float[] a, float[] b, int[] io, int have, int want, Map<String, float[]> out);
    }

    /** As {@link #toSpec(Map, LoraSpec, int, int, ModelConfig, long)}, with {@code down} taking a block to a smaller rank. */
    static Aggregator.Result toSpec(Map<String, float[]> aggregate, LoraSpec spec, int from, int to, ModelConfig config, long seed,
                                    RankDown down) {
        Map<String, float[]> out = new TreeMap<>();
        double worst = 0;
        for (int l = from; l < to; l++) {
            for (LoraTarget t : spec.targets()) {
                String base = LoraAdapters.key(l, t);
                float[] a = aggregate.get(base + ".lora_A");
                float[] b = aggregate.get(base + ".lora_B");
                if (a == null || b == null) {
                    throw new IllegalArgumentException("no aggregate for adapter " + base);
                }
                int[] io = LoraAdapters.dims(config, t);
                int have = a.length / io[0];
                int want = spec.rank(l);
                if (have == want) {
                    out.put(base + ".lora_A", a);
                    out.put(base + ".lora_B", b);
                    continue;
                }
                if (want > have) {
                    pad(base, a, b, io, have, want, fill(seed, base), out);
                    continue;
                }
                worst = Math.max(worst, down.apply(base, a, b, io, have, want, out));
            }
        }
        return new Aggregator.Result(out, worst);
    }

    /** A [have, in] and B [out, have] as rank {@code want}: (alpha/want)·B'·A' = (alpha/have)·B·A. */
    static void pad(String base, float[] a, float[] b, int[] io, int have, int want, SplittableRandom fill,
                            Map<String, float[]> out) {
        float[] a2 = java.util.Arrays.copyOf(a, want * io[0]);
        double bound = 1 / Math.sqrt(io[0]);
        for (int i = have * io[0]; i < a2.length; i++) {
            a2[i] = (float) ((fill.nextDouble() * 2 - 1) * bound);
        }
        float[] b2 = new float[io[1] * want];
        float scale = (float) ((double) want / have);
        for (int row = 0; row < io[1]; row++) {
            for (int c = 0; c < have; c++) {
                b2[row * want + c] = b[row * have + c] * scale;
            }
        }
        out.put(base + ".lora_A", a2);
        out.put(base + ".lora_B", b2);
    }

    static int rankOf(Aggregator.Holder h, String base, int[] io) {
        float[] a = h.lora().get(base + ".lora_A");
        float[] b = h.lora().get(base + ".lora_B");
        if (b == null || a.length % io[0] != 0 || b.length != io[1] * (a.length / io[0])) {
            throw new IllegalArgumentException(h.who() + ": adapter " + base + " has inconsistent A/B shapes");
        }
        return a.length / io[0];
    }

    static SplittableRandom fill(long seed, String base) {
        return new SplittableRandom(Seeds.derive(seed, LoraAdapters.layerOf(base), LoraAdapters.targetOf(base).ordinal()));
    }

    private static TreeSet<String> bases(Map<String, float[]> lora) {
        TreeSet<String> out = new TreeSet<>();
        for (String k : lora.keySet()) {
            if (k.endsWith(".lora_A")) {
                out.add(k.substring(0, k.length() - ".lora_A".length()));
            }
        }
        return out;
    }
}
