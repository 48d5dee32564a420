package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.junit.jupiter.api.Test;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.train.StepTimings;

/** fedavg-svd against a dense reference: the best rank-r approximation of Σ w_i B_i A_i. */
class FedAvgSvdTest {

    @Test
    void refactoredUpdateIsTheTruncatedSvdOfTheAveragedUpdate() {
        Random rng = new Random(3);
        int r = 2;
        int out = 7;
        int in = 5;
        List<double[][]> bs = new ArrayList<>();
        List<double[][]> as = new ArrayList<>();
        List<Double> ws = List.of(1 / 6.0, 2 / 6.0, 3 / 6.0);
        RealMatrix dense = new Array2DRowRealMatrix(out, in);
        for (int i = 0; i < 3; i++) {
            double[][] b = random(rng, out, r);
            double[][] a = random(rng, r, in);
            bs.add(b);
            as.add(a);
            dense = dense.add(new Array2DRowRealMatrix(b).multiply(new Array2DRowRealMatrix(a)).scalarMultiply(ws.get(i)));
        }
        double[][][] ba = FedAvgSvd.refactor(bs, as, ws, r);
        RealMatrix got = new Array2DRowRealMatrix(ba[0]).multiply(new Array2DRowRealMatrix(ba[1]));
        SingularValueDecomposition svd = new SingularValueDecomposition(dense);
        RealMatrix best = new Array2DRowRealMatrix(out, in);
        for (int c = 0; c < r; c++) {
            best = best.add(svd.getU().getColumnMatrix(c).multiply(svd.getV().getColumnMatrix(c).transpose())
                    .scalarMultiply(svd.getSingularValues()[c]));
        }
        assertEquals(0, got.subtract(best).getNorm(), 1e-9);

        // plain FedAvg of A and B is a different (worse) update
        RealMatrix bMean = new Array2DRowRealMatrix(out, r);
        RealMatrix aMean = new Array2DRowRealMatrix(r, in);
        for (int i = 0; i < 3; i++) {
            bMean = bMean.add(new Array2DRowRealMatrix(bs.get(i)).scalarMultiply(ws.get(i)));
            aMean = aMean.add(new Array2DRowRealMatrix(as.get(i)).scalarMultiply(ws.get(i)));
        }
        double fedavgError = bMean.multiply(aMean).subtract(dense).getNorm();
        double svdError = got.subtract(dense).getNorm();
        assertTrue(svdError < fedavgError, "svd " + svdError + " vs fedavg " + fedavgError);
    }

    @Test
    void identicalClientsKeepTheirUpdateThroughTheModelShapedEntryPoint() {
        ModelConfig config = BuiltinModels.tinyGpt2Config();
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.UP), 3, 6, 0);
        Random rng = new Random(5);
        int d = config.hiddenSize();
        Map<String, float[]> lora = new TreeMap<>();
        lora.put("layers.0.q.lora_A", randomFloats(rng, 3 * d));
        lora.put("layers.0.q.lora_B", randomFloats(rng, d * 3));
        lora.put("layers.0.up.lora_A", randomFloats(rng, 3 * d));
        lora.put("layers.0.up.lora_B", randomFloats(rng, config.intermediateSize() * 3));
        List<ClientUpdate> updates = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            updates.add(new ClientUpdate(c, lora, null, 10 + c, 1, 0, 0, 0, StepTimings.ZERO, 0, 0, 0));
        }
        Map<String, float[]> agg = FedAvgSvd.aggregate(updates, TrainConfig.Weighting.SAMPLES, spec, config);
        for (String t : List.of("q", "up")) {
            int outDim = t.equals("q") ? d : config.intermediateSize();
            double[][] expected = product(lora.get("layers.0." + t + ".lora_B"), lora.get("layers.0." + t + ".lora_A"), outDim, 3, d);
            double[][] actual = product(agg.get("layers.0." + t + ".lora_B"), agg.get("layers.0." + t + ".lora_A"), outDim, 3, d);
            for (int i = 0; i < outDim; i++) {
                for (int j = 0; j < d; j++) {
                    assertEquals(expected[i][j], actual[i][j], 1e-5, t + " [" + i + "," + j + "]");
                }
            }
        }
    }

    private static double[][] product(float[] b, float[] a, int out, int r, int in) {
        double[][] m = new double[out][in];
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < in; j++) {
                    m[i][j] += (double) b[i * r + k] * a[k * in + j];
                }
            }
        }
        return m;
    }

    private static double[][] random(Random rng, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        return m;
    }

    private static float[] randomFloats(Random rng, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (rng.nextGaussian() * 0.1);
        }
        return f;
    }
}
