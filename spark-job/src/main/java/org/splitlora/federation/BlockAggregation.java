package org.splitlora.federation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraAverage;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.util.Seeds;

/**
 * FedAvg per block over every holder of that block in a round: clients hold the blocks below
 * their cut, the split server's units the blocks above it, each weighted by the samples (or
 * clients) it stands for. Holders of one rank are averaged as {@code federation.aggregation}
 * says (A and B separately, or in ΔW space); holders of different ranks (SplitFT's reduced rank
 * at the cut, cuts at different depths) are always averaged exactly in ΔW space and re-factored to
 * the largest of their ranks. A block with one holder keeps that holder's factors.
 *
 * <p>{@link #toSpec} gives a holder its start for the next round: the aggregate of each block
 * re-factored to the holder's rank (truncated SVD down, zero-padded B up).
 */
public final class BlockAggregation {

    private BlockAggregation() {}

    /** A set of adapters (any range of layers) and its weight; {@code who} names it in errors. */
    public record Holder(String who, double weight, Map<String, float[]> lora) {}

    /** Adapter values, and the largest relative Frobenius error a re-factoring to fewer ranks made. */
    public record Result(Map<String, float[]> adapters, double truncationError) {}

    /**
     * Aggregates {@code holders}; a block no one held this round keeps its value in {@code
     * previous}. The LoRA scaling of a block is alpha / its rank, with alpha common to all holders;
     * {@code seed} fills directions an aggregate leaves empty.
     */
    public static Result aggregate(List<Holder> holders, Map<String, float[]> previous, TrainConfig.Aggregation how,
                                   ModelConfig config, long seed) {
        TreeSet<String> blocks = new TreeSet<>();
        for (Holder h : holders) {
            blocks.addAll(bases(h.lora()));
        }
        blocks.addAll(bases(previous));
        Map<String, float[]> out = new TreeMap<>();
        double worst = 0;
        for (String base : blocks) {
            List<Holder> having = new ArrayList<>();
            for (Holder h : holders) {
                if (h.lora().containsKey(base + ".lora_A")) {
                    having.add(h);
                }
            }
            if (having.isEmpty()) {
                out.put(base + ".lora_A", previous.get(base + ".lora_A"));
                out.put(base + ".lora_B", previous.get(base + ".lora_B"));
                continue;
            }
            worst = Math.max(worst, block(base, having, how, config, seed, out));
        }
        return new Result(out, worst);
    }

    private static double block(String base, List<Holder> having, TrainConfig.Aggregation how, ModelConfig config, long seed,
                                Map<String, float[]> out) {
        int[] io = LoraAdapters.dims(config, LoraAdapters.targetOf(base));
        int[] ranks = new int[having.size()];
        int rank = 0;
        boolean mixed = false;
        double total = 0;
        for (int i = 0; i < having.size(); i++) {
            Holder h = having.get(i);
            ranks[i] = rankOf(h, base, io);
            mixed |= i > 0 && ranks[i] != ranks[0];
            rank = Math.max(rank, ranks[i]);
            total += h.weight();
        }
        if (having.size() == 1) {
            out.put(base + ".lora_A", having.get(0).lora().get(base + ".lora_A"));
            out.put(base + ".lora_B", having.get(0).lora().get(base + ".lora_B"));
            return 0;
        }
        if (!mixed && how == TrainConfig.Aggregation.FEDAVG) {
            List<Map<String, float[]>> values = new ArrayList<>();
            List<Double> weights = new ArrayList<>();
            for (Holder h : having) {
                values.add(Map.of(base + ".lora_A", h.lora().get(base + ".lora_A"), base + ".lora_B", h.lora().get(base + ".lora_B")));
                weights.add(h.weight());
            }
            out.putAll(LoraAverage.weighted(values, weights));
            return 0;
        }
        List<DeltaWeights.Factors> factors = new ArrayList<>();
        for (int i = 0; i < having.size(); i++) {
            Holder h = having.get(i);
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

    /**
     * The adapters of layers [from, to) at the ranks of {@code spec}: each block of {@code
     * aggregate} as is when its rank matches, else with the same update (alpha/r)·B·A at the new
     * rank — truncated by SVD to a smaller rank (the best approximation), or padded to a larger one
     * by keeping A and B (B rescaled for the new alpha/r), adding fresh A rows and zero B columns
     * (exact).
     */
    public static Result toSpec(Map<String, float[]> aggregate, LoraSpec spec, int from, int to, ModelConfig config, long seed) {
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
                DeltaWeights.Factors one = new DeltaWeights.Factors(DeltaWeights.matrix(b, io[1], have),
                        DeltaWeights.matrix(a, have, io[0]), (double) want / have);
                DeltaWeights.Refactored r = DeltaWeights.refactor(List.of(one), want, fill(seed, base));
                out.put(base + ".lora_B", DeltaWeights.flat(r.b()));
                out.put(base + ".lora_A", DeltaWeights.flat(r.a()));
                worst = Math.max(worst, r.truncationError());
            }
        }
        return new Result(out, worst);
    }

    /** A [have, in] and B [out, have] as rank {@code want}: (alpha/want)·B'·A' = (alpha/have)·B·A. */
    private static void pad(String base, float[] a, float[] b, int[] io, int have, int want, SplittableRandom fill,
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

    private static int rankOf(Holder h, String base, int[] io) {
        float[] a = h.lora().get(base + ".lora_A");
        float[] b = h.lora().get(base + ".lora_B");
        if (b == null || a.length % io[0] != 0 || b.length != io[1] * (a.length / io[0])) {
            throw new IllegalArgumentException(h.who() + ": adapter " + base + " has inconsistent A/B shapes");
        }
        return a.length / io[0];
    }

    private static SplittableRandom fill(long seed, String base) {
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
