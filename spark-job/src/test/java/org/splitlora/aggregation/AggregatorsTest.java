package org.splitlora.aggregation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** The registered aggregators against references written from their definitions, and their settings as config keys. */
class AggregatorsTest {

    private static final ModelConfig CONFIG = BuiltinModels.tinyGpt2Config();
    private static final int D = CONFIG.hiddenSize();
    private static final double ALPHA = 8;
    private static final String Q = "layers.0.q";
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
        List<Aggregator.Holder> holders = List.of(new Aggregator.Holder("server", 2, full), new Aggregator.Holder("client", 1, small));
        Map<String, float[]> out = Aggregators.of("nested", null).aggregate(holders, previous, CONFIG, 1).adapters();
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
                .aggregate(List.of(new Aggregator.Holder("client", 1, small)), previous, CONFIG, 1).adapters();
        assertEquals(previous.get(Q + ".lora_A")[5 * D + 2], onlySmall.get(Q + ".lora_A")[5 * D + 2]);
        assertEquals(previous.get(Q + ".lora_B")[9 * 8 + 6], onlySmall.get(Q + ".lora_B")[9 * 8 + 6]);
        assertEquals(small.get(Q + ".lora_A")[D + 4], onlySmall.get(Q + ".lora_A")[D + 4], 1e-7);
    }

    @Test
    void nestedStartThenAggregateOfAnUntrainedHolderGivesTheGlobalBack() {
        Map<String, float[]> global = block(new Random(5), 8);
        Aggregator nested = Aggregators.of("nested", null);
        Map<String, float[]> start = nested.start(global, FULL.withLayerRanks(Map.of(0, 4)), 0, 1, CONFIG, 1).adapters();
        Map<String, float[]> back = nested.aggregate(List.of(new Aggregator.Holder("c", 1, start)), global, CONFIG, 1).adapters();
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
            Map<String, float[]> next = adam.aggregate(List.of(new Aggregator.Holder("c0", 1, c0), new Aggregator.Holder("c1", 3, c1)),
                    x, CONFIG, 1).adapters();
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
        List<Aggregator.Holder> one = List.of(new Aggregator.Holder("c", 1, c));
        assertArrayEquals(adam.aggregate(one, x, CONFIG, 1).adapters().get(Q + ".lora_B"),
                again.aggregate(one, x, CONFIG, 1).adapters().get(Q + ".lora_B"));
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
        return (key, min, minOpen, max, maxOpen) -> values.get(key);
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
