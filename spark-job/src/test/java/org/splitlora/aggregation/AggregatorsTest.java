package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.Test;
import org.splitlora.config.ConfigError;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.train.OptimizerConfig;

/** The registered aggregators against references written from their definitions, and their settings as config keys. */
class AggregatorsTest {

    private static final ModelConfig CONFIG = BuiltinModels.tinyGpt2Config();
    private static final int D = CONFIG.hiddenSize();
    private static final double ALPHA = 8;
    private static final String Q = "layers.0.q";
    private static final Aggregator.Round ROUND = new Aggregator.Round(CONFIG, 1, 0, 1);
    private static final LoraSpec FULL = LoraSpec.of(Set.of(LoraTarget.Q), 8, ALPHA, 0);

    @Test
    void nestedStartGivesTheLeadingComponentsWithTheSameUpdate() {
        Random rng = new Random(3);
        Map<String, float[]> global = block(rng, 8);
        Aggregator nested = Aggregators.of("nested", null);
        Aggregator.Result start = nested.start(global, FULL.withLayerRanks(Map.of(0, 3)), 0, 1, CONFIG, 1);
        float[] a = start.adapters().get(Q + ".lora_A");
        assertEquals(3 * D, a.length);
        // (alpha/3)·B'·A' is the full update restricted to components 0..2: (alpha/8)·B[:, :3]·A[:3]
        RealMatrix want = matrix(global.get(Q + ".lora_B"), D, 8).getSubMatrix(0, D - 1, 0, 2)
                .multiply(matrix(global.get(Q + ".lora_A"), 8, D).getSubMatrix(0, 2, 0, D - 1)).scalarMultiply(ALPHA / 8);
        RealMatrix got = matrix(start.adapters().get(Q + ".lora_B"), D, 3).multiply(matrix(a, 3, D)).scalarMultiply(ALPHA / 3);
        assertEquals(0, got.subtract(want).getFrobeniusNorm() / want.getFrobeniusNorm(), 1e-6);
        RealMatrix whole = matrix(global.get(Q + ".lora_B"), D, 8).multiply(matrix(global.get(Q + ".lora_A"), 8, D)).scalarMultiply(ALPHA / 8);
        assertEquals(whole.subtract(want).getFrobeniusNorm() / whole.getFrobeniusNorm(), start.truncationError(), 1e-6);
    }

    @Test
    void nestedAveragesEachComponentOverItsHoldersAtTheGlobalScaling() {
        Random rng = new Random(4);
        Map<String, float[]> previous = block(rng, 8);
        Map<String, float[]> full = block(rng, 8);
        Map<String, float[]> small = block(rng, 3);
        List<Aggregator.Holder> holders = List.of(new Aggregator.Holder("server", 2, full, Aggregator.Role.SERVER), new Aggregator.Holder("client", 1, small, Aggregator.Role.CLIENT));
        Map<String, float[]> out = Aggregators.of("nested", null).aggregate(holders, previous, ROUND).adapters();
        float[] a = out.get(Q + ".lora_A");
        float[] b = out.get(Q + ".lora_B");
        for (int j = 0; j < 8; j++) {
            for (int i = 0; i < D; i += 7) {
                // components 0..2: weights 2 and 1; 3..7: the full-rank holder alone
                double want = j < 3 ? (2 * full.get(Q + ".lora_A")[j * D + i] + small.get(Q + ".lora_A")[j * D + i]) / 3
                        : full.get(Q + ".lora_A")[j * D + i];
                assertEquals(want, a[j * D + i], 1e-6, "A[" + j + "," + i + "]");
            }
            for (int row = 0; row < D; row += 5) {
                // the rank-3 holder's B column in units of alpha/8: times 8/3
                double want = j < 3 ? (2 * full.get(Q + ".lora_B")[row * 8 + j] + small.get(Q + ".lora_B")[row * 3 + j] * 8.0 / 3) / 3
                        : full.get(Q + ".lora_B")[row * 8 + j];
                assertEquals(want, b[row * 8 + j], 1e-6, "B[" + row + "," + j + "]");
            }
        }
        // a component nobody held keeps its previous value
        Map<String, float[]> onlySmall = Aggregators.of("nested", null)
                .aggregate(List.of(new Aggregator.Holder("client", 1, small, Aggregator.Role.CLIENT)), previous, ROUND).adapters();
        assertEquals(previous.get(Q + ".lora_A")[5 * D + 2], onlySmall.get(Q + ".lora_A")[5 * D + 2]);
        assertEquals(previous.get(Q + ".lora_B")[9 * 8 + 6], onlySmall.get(Q + ".lora_B")[9 * 8 + 6]);
        assertEquals(small.get(Q + ".lora_A")[D + 4], onlySmall.get(Q + ".lora_A")[D + 4], 1e-7);
    }

    @Test
    void nestedStartThenAggregateOfAnUntrainedHolderGivesTheGlobalBack() {
        Map<String, float[]> global = block(new Random(5), 8);
        Aggregator nested = Aggregators.of("nested", null);
        Map<String, float[]> start = nested.start(global, FULL.withLayerRanks(Map.of(0, 4)), 0, 1, CONFIG, 1).adapters();
        Map<String, float[]> back = nested.aggregate(List.of(new Aggregator.Holder("c", 1, start, Aggregator.Role.CLIENT)), global, ROUND).adapters();
        assertArrayEquals(global.get(Q + ".lora_A"), back.get(Q + ".lora_A"), 0);
        assertArrayEquals(global.get(Q + ".lora_B"), back.get(Q + ".lora_B"), 1e-6f);
    }

    @Test
    void fedAdamFollowsReddiAlgorithmTwoOverRounds() {
        double lr = 0.05;
        double b1 = 0.8;
        double b2 = 0.95;
        double tau = 0.01;
        Aggregator adam = Aggregators.of("fedadam", settings(Map.of("lr", lr, "beta1", b1, "beta2", b2, "tau", tau)));
        Random rng = new Random(6);
        Map<String, float[]> x = block(rng, 2);
        int n = x.get(Q + ".lora_A").length;
        double[] xs = toDouble(x.get(Q + ".lora_A"));
        double[] m = new double[n];
        double[] v = new double[n];
        for (int round = 0; round < 3; round++) {
            Map<String, float[]> c0 = block(rng, 2);
            Map<String, float[]> c1 = block(rng, 2);
            Map<String, float[]> next = adam.aggregate(List.of(new Aggregator.Holder("c0", 1, c0, Aggregator.Role.CLIENT), new Aggregator.Holder("c1", 3, c1, Aggregator.Role.CLIENT)),
                    x, ROUND).adapters();
            for (int i = 0; i < n; i++) {
                double mean = (c0.get(Q + ".lora_A")[i] + 3.0 * c1.get(Q + ".lora_A")[i]) / 4;
                double delta = mean - x.get(Q + ".lora_A")[i];
                m[i] = b1 * m[i] + (1 - b1) * delta;
                v[i] = b2 * v[i] + (1 - b2) * delta * delta;
                xs[i] = x.get(Q + ".lora_A")[i] + lr * m[i] / (Math.sqrt(v[i]) + tau);
                assertEquals(xs[i], next.get(Q + ".lora_A")[i], 1e-5 * (1 + Math.abs(xs[i])), "round " + round + " [" + i + "]");
            }
            x = next;
        }
        // its moments are its state: a fresh FedAdam restored from it continues identically
        Aggregator again = Aggregators.of("fedadam", settings(Map.of("lr", lr, "beta1", b1, "beta2", b2, "tau", tau)));
        again.restore(adam.state());
        Map<String, float[]> c = block(rng, 2);
        List<Aggregator.Holder> one = List.of(new Aggregator.Holder("c", 1, c, Aggregator.Role.CLIENT));
        assertArrayEquals(adam.aggregate(one, x, ROUND).adapters().get(Q + ".lora_B"),
                again.aggregate(one, x, ROUND).adapters().get(Q + ".lora_B"));
    }

    @Test
    void serverAdamWIsTorchAdamWOnTheMeanClientGradient() {
        // lr 0.1, betas (0.8, 0.9), eps 1e-3, weight decay 0.1, 2 warmup steps of 5, clip at norm 5
        OptimizerConfig optim = new OptimizerConfig(0.1, 0.8, 0.9, 1e-3, 0.1, 2, 5);
        Aggregator server = Aggregators.of("server-adamw", settings(Map.of(), optim));
        Random rng = new Random(8);
        Map<String, float[]> x = block(rng, 2);
        double[] p = new double[4 * D];
        double[] m = new double[p.length];
        double[] v = new double[p.length];
        copy(x, p);
        for (int t = 0; t < 4; t++) {
            // clients at SGD lr 1 with one step: their adapters are x − g_i
            Map<String, float[]> g0 = block(rng, 2);
            Map<String, float[]> g1 = block(rng, 2);
            List<Aggregator.Holder> holders = List.of(new Aggregator.Holder("c0", 1, minus(x, g0), Aggregator.Role.CLIENT),
                    new Aggregator.Holder("c1", 3, minus(x, g1), Aggregator.Role.CLIENT));
            Map<String, float[]> next = server.aggregate(holders, x, new Aggregator.Round(CONFIG, 1, t, 5)).adapters();
            double[] g = new double[p.length];
            copyMean(g0, g1, g);
            double norm = Math.sqrt(java.util.Arrays.stream(g).map(e -> e * e).sum());
            double clip = Math.min(1, 5 / (norm + 1e-6));
            double lr = t < 2 ? 0.1 * t / 2 : 0.1 * (5.0 - t) / 3;
            for (int i = 0; i < p.length; i++) {
                double gi = g[i] * clip;
                p[i] *= 1 - lr * 0.1;
                m[i] = 0.8 * m[i] + 0.2 * gi;
                v[i] = 0.9 * v[i] + 0.1 * gi * gi;
                p[i] -= lr * (m[i] / (1 - Math.pow(0.8, t + 1))) / (Math.sqrt(v[i] / (1 - Math.pow(0.9, t + 1))) + 1e-3);
            }
            assertTrue(norm > 5, "the clip is exercised");
            double[] got = new double[p.length];
            copy(next, got);
            for (int i = 0; i < p.length; i += 3) {
                assertEquals(p[i], got[i], 2e-5 * (1 + Math.abs(p[i])), "step " + t + " [" + i + "]");
            }
            x = next;
        }
        assertEquals(4f, server.state().get("step")[0]);
    }

    @Test
    void serverOptimizersTakeTheServerUnitsAsClientsAndRefuseOnesTheServerTrained() {
        Random rng = new Random(9);
        Map<String, float[]> previous = block(rng, 2);
        Map<String, float[]> unit = block(rng, 2);
        List<Aggregator.Holder> ownOptimizer = List.of(new Aggregator.Holder("server block.0 [0, 1]", 3, unit, Aggregator.Role.SERVER));
        for (Aggregator a : List.of(Aggregators.of("fedadam", settings(Map.of("lr", 0.1, "beta1", 0.9, "beta2", 0.99, "tau", 1e-3))),
                Aggregators.of("server-adamw", settings(Map.of(), new OptimizerConfig(0.1, 0.9, 0.99, 1e-6, 0, 0, 1))))) {
            assertTrue(a.aggregatesServerUnits());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.aggregate(ownOptimizer, previous, ROUND));
            assertTrue(e.getMessage().startsWith("server block.0 [0, 1]: "), e.getMessage());
        }
        for (String name : List.of("fedavg", "fedavg-svd", "nested")) {
            assertFalse(Aggregators.of(name, settings(Map.of())).aggregatesServerUnits(), name);
        }
    }

    @Test
    void aStatelessAggregatorRefusesACheckpointWithState() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Aggregators.of("fedavg", null).restore(Map.of("m.x", new float[1])));
        assertTrue(e.getMessage().contains("federation.aggregation"), e.getMessage());
    }

    @Test
    void theAggregationAndItsSettingsAreCheckedWhenTheConfigLoads() {
        ConfigError unknown = assertThrows(ConfigError.class,
                () -> TrainConfig.load(null, List.of("model=builtin:tiny-gpt2", "data.dir=/d", "federation.aggregation=fedprox")));
        assertTrue(unknown.getMessage().contains("--set federation.aggregation=fedprox") && unknown.getMessage().contains("nested"),
                unknown.getMessage());
        ConfigError beta = assertThrows(ConfigError.class, () -> TrainConfig.load(null,
                List.of("model=builtin:tiny-gpt2", "data.dir=/d", "federation.aggregation=fedadam", "federation.fedadam.beta1=1")));
        assertTrue(beta.getMessage().contains("--set federation.fedadam.beta1=1: federation.fedadam.beta1 must be in [0.0, 1.0)"),
                beta.getMessage());
        assertEquals("nested", TrainConfig.load(null, List.of("model=builtin:tiny-gpt2", "data.dir=/d", "federation.aggregation=nested"))
                .federation().aggregation());
    }

    private static AggregatorSettings settings(Map<String, Double> values) {
        return settings(values, null);
    }

    private static AggregatorSettings settings(Map<String, Double> values, OptimizerConfig optimizer) {
        return new AggregatorSettings() {
            @Override
            public double number(String key, double min, boolean minOpen, double max, boolean maxOpen) {
                return values.get(key);
            }

            @Override
            public OptimizerConfig runOptimizer() {
                return optimizer;
            }
        };
    }

    /** Random A [r, D] and B [D, r] for block {@link #Q}. */
    private static Map<String, float[]> block(Random rng, int r) {
        Map<String, float[]> out = new TreeMap<>();
        out.put(Q + ".lora_A", random(rng, r * D));
        out.put(Q + ".lora_B", random(rng, D * r));
        return out;
    }

    private static float[] random(Random rng, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rng.nextGaussian();
        }
        return f;
    }

    private static Map<String, float[]> minus(Map<String, float[]> x, Map<String, float[]> g) {
        Map<String, float[]> out = new TreeMap<>();
        x.forEach((k, a) -> {
            float[] r = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                r[i] = a[i] - g.get(k)[i];
            }
            out.put(k, r);
        });
        return out;
    }

    /** The tensors of {@code x} (in key order) into {@code out}. */
    private static void copy(Map<String, float[]> x, double[] out) {
        int o = 0;
        for (float[] a : new TreeMap<>(x).values()) {
            for (float f : a) {
                out[o++] = f;
            }
        }
    }

    /** (1·g0 + 3·g1) / 4, flattened as {@link #copy} does. */
    private static void copyMean(Map<String, float[]> g0, Map<String, float[]> g1, double[] out) {
        double[] a = new double[out.length];
        double[] b = new double[out.length];
        copy(g0, a);
        copy(g1, b);
        for (int i = 0; i < out.length; i++) {
            out[i] = (a[i] + 3 * b[i]) / 4;
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static RealMatrix matrix(float[] v, int rows, int cols) {
        return new Array2DRowRealMatrix(DeltaWeights.matrix(v, rows, cols));
    }
}
