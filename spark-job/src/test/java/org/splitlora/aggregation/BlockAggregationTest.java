package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.junit.jupiter.api.Test;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;

/**
 * Aggregation per block against dense references: ΔW = (alpha/r)·B·A of each holder, summed with
 * FedAvg weights, and its best rank-r approximation from a direct SVD of the dense matrix.
 */
class BlockAggregationTest {

    private static final ModelConfig CONFIG = BuiltinModels.tinyGpt2Config();
    private static final int D = CONFIG.hiddenSize();
    private static final double ALPHA = 8;
    private static final String Q = "layers.0.q";

    @Test
    void equalRanksInDeltaWSpaceGiveTheExactAverageWhenItFitsTheRank() {
        Random rng = new Random(1);
        // holders sharing A: the mean update (Σ w_i B_i)·A has rank r, so re-factoring loses nothing
        float[] a = randomFloats(rng, 4 * D);
        List<Aggregator.Holder> holders = List.of(
                holder("c0", 1, Q, randomFloats(rng, D * 4), a),
                holder("c1", 2, Q, randomFloats(rng, D * 4), a),
                holder("c2", 3, Q, randomFloats(rng, D * 4), a));
        Aggregator.Result r = new DeltaAverage().aggregate(holders, Map.of(), new Aggregator.Round(CONFIG, 7, 0, 1));
        RealMatrix exact = weightedDelta(holders, Q);
        assertEquals(0, delta(r.adapters(), Q).subtract(exact).getFrobeniusNorm() / exact.getFrobeniusNorm(), 1e-5);
        assertEquals(0, r.truncationError(), 1e-5);
    }

    @Test
    void equalRanksInGeneralGiveTheBestRankRApproximation() {
        Random rng = new Random(2);
        List<Aggregator.Holder> holders = List.of(
                holder("c0", 1, Q, randomFloats(rng, D * 2), randomFloats(rng, 2 * D)),
                holder("c1", 2, Q, randomFloats(rng, D * 2), randomFloats(rng, 2 * D)),
                holder("c2", 3, Q, randomFloats(rng, D * 2), randomFloats(rng, 2 * D)));
        Aggregator.Result r = new DeltaAverage().aggregate(holders, Map.of(), new Aggregator.Round(CONFIG, 7, 0, 1));
        RealMatrix exact = weightedDelta(holders, Q);
        RealMatrix best = bestApproximation(exact, 2);
        assertEquals(0, delta(r.adapters(), Q).subtract(best).getFrobeniusNorm() / best.getFrobeniusNorm(), 1e-5);
        assertEquals(exact.subtract(best).getFrobeniusNorm() / exact.getFrobeniusNorm(), r.truncationError(), 1e-6);
        assertTrue(r.truncationError() > 0.01, "three random rank-2 updates do not fit rank 2");

        // plain FedAvg of A and B is a different update, further from the exact mean
        Aggregator.Result plain = new FactorAverage().aggregate(holders, Map.of(), new Aggregator.Round(CONFIG, 7, 0, 1));
        assertTrue(delta(plain.adapters(), Q).subtract(exact).getFrobeniusNorm() > delta(r.adapters(), Q).subtract(exact).getFrobeniusNorm());
    }

    @Test
    void mixedRanksAreAveragedExactlyAndRefactoredToTheLargestRank() {
        Random rng = new Random(3);
        // a client's last block at the reduced cut rank 2 and the server's copy at rank 4: scalings alpha/2 and alpha/4
        List<Aggregator.Holder> holders = List.of(
                holder("client at cut 1", 5, Q, randomFloats(rng, D * 2), randomFloats(rng, 2 * D)),
                holder("server copy", 3, Q, randomFloats(rng, D * 4), randomFloats(rng, 4 * D)));
        // FEDAVG asks for A/B averaging, impossible across ranks: the mixed block goes to ΔW space anyway
        Aggregator.Result r = new FactorAverage().aggregate(holders, Map.of(), new Aggregator.Round(CONFIG, 7, 0, 1));
        assertEquals(4 * D, r.adapters().get(Q + ".lora_A").length);
        RealMatrix exact = weightedDelta(holders, Q);
        RealMatrix best = bestApproximation(exact, 4);
        assertEquals(0, delta(r.adapters(), Q).subtract(best).getFrobeniusNorm() / best.getFrobeniusNorm(), 1e-5);
        assertEquals(exact.subtract(best).getFrobeniusNorm() / exact.getFrobeniusNorm(), r.truncationError(), 1e-6);
    }

    @Test
    void aHolderGetsTheAggregateAtItsRank() {
        Random rng = new Random(4);
        Map<String, float[]> aggregate = new TreeMap<>();
        aggregate.put(Q + ".lora_A", randomFloats(rng, 4 * D));
        aggregate.put(Q + ".lora_B", randomFloats(rng, D * 4));
        RealMatrix full = delta(aggregate, Q);
        LoraSpec base = LoraSpec.of(java.util.EnumSet.of(LoraTarget.Q), 4, ALPHA, 0);

        // down to rank 2: the best rank-2 approximation of the same update (at scaling alpha/2)
        Aggregator.Result down = BlockAggregation.toSpec(aggregate, base.withLayerRanks(Map.of(0, 2)), 0, 1, CONFIG, 9);
        assertEquals(2 * D, down.adapters().get(Q + ".lora_A").length);
        RealMatrix best = bestApproximation(full, 2);
        assertEquals(0, delta(down.adapters(), Q).subtract(best).getFrobeniusNorm() / best.getFrobeniusNorm(), 1e-5);
        assertEquals(full.subtract(best).getFrobeniusNorm() / full.getFrobeniusNorm(), down.truncationError(), 1e-6);

        // up to rank 6: exact, keeping A and B (B rescaled for alpha/6), the new directions' B zero and A fresh (so they can learn)
        Aggregator.Result up = BlockAggregation.toSpec(aggregate, base.withLayerRanks(Map.of(0, 6)), 0, 1, CONFIG, 9);
        assertEquals(0, delta(up.adapters(), Q).subtract(full).getFrobeniusNorm() / full.getFrobeniusNorm(), 1e-5);
        assertEquals(0, up.truncationError(), 1e-9);
        float[] b = up.adapters().get(Q + ".lora_B");
        float[] a = up.adapters().get(Q + ".lora_A");
        for (int row = 0; row < D; row++) {
            assertEquals(0, b[row * 6 + 5], 0);
        }
        assertNotEquals(0, a[5 * D], 0);
        assertEquals(aggregate.get(Q + ".lora_A")[3], a[3], 0);
        assertEquals(aggregate.get(Q + ".lora_B")[4 * 2 + 1] * 1.5f, b[6 * 2 + 1], 1e-7);

        // the same rank: the very same values
        assertSame(aggregate.get(Q + ".lora_A"), BlockAggregation.toSpec(aggregate, base, 0, 1, CONFIG, 9).adapters().get(Q + ".lora_A"));
    }

    @Test
    void aBlockWithOneHolderKeepsItsFactorsAndAnUnheldBlockKeepsItsValue() {
        Random rng = new Random(5);
        String k = "layers.1.q";
        Aggregator.Holder only = holder("server copy", 2, Q, randomFloats(rng, D * 4), randomFloats(rng, 4 * D));
        Map<String, float[]> previous = new TreeMap<>();
        previous.put(k + ".lora_A", randomFloats(rng, 4 * D));
        previous.put(k + ".lora_B", randomFloats(rng, D * 4));
        Aggregator.Result r = new DeltaAverage().aggregate(List.of(only), previous, new Aggregator.Round(CONFIG, 7, 0, 1));
        assertArrayEquals(only.lora().get(Q + ".lora_A"), r.adapters().get(Q + ".lora_A"));
        assertArrayEquals(only.lora().get(Q + ".lora_B"), r.adapters().get(Q + ".lora_B"));
        assertArrayEquals(previous.get(k + ".lora_A"), r.adapters().get(k + ".lora_A"));
    }

    private static Aggregator.Holder holder(String who, double weight, String base, float[] b, float[] a) {
        return new Aggregator.Holder(who, weight, Map.of(base + ".lora_A", a, base + ".lora_B", b), Aggregator.Role.CLIENT);
    }

    /** Σ w_i (alpha / r_i) B_i A_i / Σ w_i, densely. */
    private static RealMatrix weightedDelta(List<Aggregator.Holder> holders, String base) {
        double total = holders.stream().mapToDouble(Aggregator.Holder::weight).sum();
        RealMatrix sum = new Array2DRowRealMatrix(D, D);
        for (Aggregator.Holder h : holders) {
            sum = sum.add(delta(h.lora(), base).scalarMultiply(h.weight() / total));
        }
        return sum;
    }

    /** (alpha / r)·B·A of one adapter, [out, in]. */
    private static RealMatrix delta(Map<String, float[]> lora, String base) {
        float[] a = lora.get(base + ".lora_A");
        int r = a.length / D;
        return new Array2DRowRealMatrix(DeltaWeights.matrix(lora.get(base + ".lora_B"), D, r))
                .multiply(new Array2DRowRealMatrix(DeltaWeights.matrix(a, r, D))).scalarMultiply(ALPHA / r);
    }

    private static RealMatrix bestApproximation(RealMatrix m, int rank) {
        SingularValueDecomposition svd = new SingularValueDecomposition(m);
        RealMatrix best = new Array2DRowRealMatrix(m.getRowDimension(), m.getColumnDimension());
        for (int c = 0; c < rank; c++) {
            best = best.add(svd.getU().getColumnMatrix(c).multiply(svd.getV().getColumnMatrix(c).transpose())
                    .scalarMultiply(svd.getSingularValues()[c]));
        }
        return best;
    }

    private static float[] randomFloats(Random rng, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (rng.nextGaussian() * 0.1);
        }
        return f;
    }
}
