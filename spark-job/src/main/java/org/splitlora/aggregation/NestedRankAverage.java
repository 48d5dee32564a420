package org.splitlora.aggregation;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;

/**
 * {@code nested}: heterogeneous ranks as nested prefixes (HetLoRA, Cho et al. 2024). A block's
 * global adapter has its full rank R; a holder of rank r &lt; R gets its first r components (A's
 * first r rows, B's first r columns), trains them, and they are averaged component by component
 * with every other holder of that component. Component j of a holder is the same direction round
 * after round, so a client's AdamW moments stay aligned with its factors; re-factoring by SVD
 * (fedavg, fedavg-svd) rotates the basis every round and leaves the moments pointing elsewhere.
 *
 * <p>Scaling: a rank-r holder's update is (alpha/r)·B·A; its B columns are carried at the global
 * scaling alpha/R (multiplied by r/R on the way out, by R/r on the way back), so a component means
 * the same update at every rank. A component no holder had this round keeps its previous value.
 */
final class NestedRankAverage implements Aggregator {

    @Override
    public Result start(Map<String, float[]> global, LoraSpec spec, int from, int to, ModelConfig config, long seed) {
        return BlockAggregation.toSpec(global, spec, from, to, config, seed, (base, a, b, io, have, want, out) -> {
            out.put(base + ".lora_A", Arrays.copyOf(a, want * io[0]));
            out.put(base + ".lora_B", columns(b, io[1], have, want, (double) want / have));
            return droppedShare(a, b, io, have, want);
        });
    }

    @Override
    public Result aggregate(List<Holder> holders, Map<String, float[]> previous, Round round) {
        return BlockAggregation.perBlock(holders, previous, round.model(), (base, having, before, io, out) -> {
            int rank = 0;
            for (Holder h : having) {
                rank = Math.max(rank, BlockAggregation.rankOf(h, base, io));
            }
            float[] prevA = before.get(base + ".lora_A");
            int prevRank = prevA == null ? 0 : prevA.length / io[0];
            rank = Math.max(rank, prevRank);
            if (having.size() == 1 && BlockAggregation.rankOf(having.get(0), base, io) == rank) {
                out.put(base + ".lora_A", having.get(0).lora().get(base + ".lora_A"));
                out.put(base + ".lora_B", having.get(0).lora().get(base + ".lora_B"));
                return 0;
            }
            double[] aSum = new double[rank * io[0]];
            double[] bSum = new double[io[1] * rank];
            double[] weight = new double[rank];
            for (Holder h : having) {
                int r = BlockAggregation.rankOf(h, base, io);
                float[] a = h.lora().get(base + ".lora_A");
                float[] b = h.lora().get(base + ".lora_B");
                double toGlobal = (double) rank / r;
                for (int j = 0; j < r; j++) {
                    weight[j] += h.weight();
                    for (int i = 0; i < io[0]; i++) {
                        aSum[j * io[0] + i] += h.weight() * a[j * io[0] + i];
                    }
                    for (int row = 0; row < io[1]; row++) {
                        bSum[row * rank + j] += h.weight() * toGlobal * b[row * r + j];
                    }
                }
            }
            float[] prevB = before.get(base + ".lora_B");
            float[] a = new float[aSum.length];
            float[] b = new float[bSum.length];
            for (int j = 0; j < rank; j++) {
                if (weight[j] == 0 && j >= prevRank) {
                    throw new IllegalStateException("adapter " + base + ": component " + j + " has no holder and no previous value");
                }
                for (int i = 0; i < io[0]; i++) {
                    a[j * io[0] + i] = weight[j] > 0 ? (float) (aSum[j * io[0] + i] / weight[j]) : prevA[j * io[0] + i];
                }
                for (int row = 0; row < io[1]; row++) {
                    b[row * rank + j] = weight[j] > 0 ? (float) (bSum[row * rank + j] / weight[j])
                            : (float) (prevB[row * prevRank + j] * (double) rank / prevRank);
                }
            }
            out.put(base + ".lora_A", a);
            out.put(base + ".lora_B", b);
            return 0;
        });
    }

    /** The first {@code want} of B's {@code have} columns, times {@code scale}. */
    private static float[] columns(float[] b, int rows, int have, int want, double scale) {
        float[] out = new float[rows * want];
        for (int row = 0; row < rows; row++) {
            for (int c = 0; c < want; c++) {
                out[row * want + c] = (float) (b[row * have + c] * scale);
            }
        }
        return out;
    }

    /** ‖B[:, want:]·A[want:]‖_F / ‖B·A‖_F: the share of the update a holder of rank {@code want} does not see. */
    private static double droppedShare(float[] a, float[] b, int[] io, int have, int want) {
        double dropped = 0;
        double all = 0;
        for (int row = 0; row < io[1]; row++) {
            for (int i = 0; i < io[0]; i++) {
                double head = 0;
                double tail = 0;
                for (int c = 0; c < have; c++) {
                    double p = (double) b[row * have + c] * a[c * io[0] + i];
                    if (c < want) {
                        head += p;
                    } else {
                        tail += p;
                    }
                }
                dropped += tail * tail;
                all += (head + tail) * (head + tail);
            }
        }
        return all == 0 ? 0 : Math.sqrt(dropped / all);
    }
}
