package org.splitlora.federation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.splitlora.config.TrainConfig;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;

/**
 * FedAvg of the updates themselves: per adapted projection, ΔW = Σ w_i · B_i·A_i (the LoRA
 * scaling is common to all clients and left out), re-factored into rank r by truncated SVD, which
 * is the best rank-r approximation of the averaged update (Eckart–Young). Averaging A and B
 * separately, as {@link FedAvg} does, is not the average of B·A.
 *
 * <p>The SVD is taken of a small matrix: with P = [w_1 B_1 … w_n B_n] (out × nr) and
 * Q = [A_1; …; A_n] (nr × in), ΔW = P·Q; thin QR of P and of Qᵀ reduces it to R_P·R_Qᵀ (nr × nr).
 * The result is B = Q_P·U_r·√Σ_r and A = √Σ_r·V_rᵀ·Q_Qᵀ.
 */
public final class FedAvgSvd {

    private FedAvgSvd() {}

    /** Adapters named as {@link LoraAdapters#key}; ranks from {@code spec}, shapes from {@code config}. */
    public static Map<String, float[]> aggregate(List<ClientUpdate> updates, TrainConfig.Weighting weighting,
                                                 LoraSpec spec, ModelConfig config) {
        if (updates.isEmpty()) {
            throw new IllegalArgumentException("nothing to aggregate");
        }
        double total = 0;
        for (ClientUpdate u : updates) {
            total += FedAvg.weight(u, weighting);
        }
        Map<String, float[]> out = new TreeMap<>();
        for (String key : updates.get(0).lora().keySet()) {
            if (!key.endsWith(".lora_A")) {
                continue;
            }
            String base = key.substring(0, key.length() - ".lora_A".length());
            int r = spec.rank(LoraAdapters.layerOf(base));
            int[] io = LoraAdapters.dims(config, LoraAdapters.targetOf(base));
            int in = io[0];
            int outDim = io[1];
            List<double[][]> bs = new ArrayList<>();
            List<double[][]> as = new ArrayList<>();
            List<Double> ws = new ArrayList<>();
            for (ClientUpdate u : updates) {
                float[] a = u.lora().get(base + ".lora_A");
                float[] b = u.lora().get(base + ".lora_B");
                if (a == null || b == null) {
                    throw new IllegalArgumentException("client " + u.clientId() + " has no adapter " + base);
                }
                if (a.length != r * in || b.length != outDim * r) {
                    throw new IllegalArgumentException("client " + u.clientId() + ": adapter " + base + " is not rank " + r);
                }
                as.add(matrix(a, r, in));
                bs.add(matrix(b, outDim, r));
                ws.add(FedAvg.weight(u, weighting) / total);
            }
            double[][][] ab = refactor(bs, as, ws, r);
            out.put(base + ".lora_B", flat(ab[0]));
            out.put(base + ".lora_A", flat(ab[1]));
        }
        return out;
    }

    /** Returns {B [out, r], A [r, in]} with B·A the best rank-r approximation of Σ w_i B_i A_i. */
    static double[][][] refactor(List<double[][]> bs, List<double[][]> as, List<Double> ws, int r) {
        int n = bs.size();
        int out = bs.get(0).length;
        int in = as.get(0)[0].length;
        int k = n * r;
        double[][] p = new double[out][k];
        double[][] qt = new double[in][k];
        for (int i = 0; i < n; i++) {
            for (int row = 0; row < out; row++) {
                for (int c = 0; c < r; c++) {
                    p[row][i * r + c] = ws.get(i) * bs.get(i)[row][c];
                }
            }
            for (int c = 0; c < r; c++) {
                for (int col = 0; col < in; col++) {
                    qt[col][i * r + c] = as.get(i)[c][col];
                }
            }
        }
        RealMatrix[] pqr = thinQr(new Array2DRowRealMatrix(p, false), k);
        RealMatrix[] qqr = thinQr(new Array2DRowRealMatrix(qt, false), k);
        SingularValueDecomposition svd = new SingularValueDecomposition(pqr[1].multiply(qqr[1].transpose()));
        double[] sigma = svd.getSingularValues();
        RealMatrix u = svd.getU();
        RealMatrix v = svd.getV();
        double[][] b = new double[out][r];
        double[][] a = new double[r][in];
        RealMatrix bFull = pqr[0].multiply(u);
        RealMatrix aFull = qqr[0].multiply(v);
        for (int c = 0; c < r && c < sigma.length; c++) {
            double s = Math.sqrt(sigma[c]);
            for (int row = 0; row < out; row++) {
                b[row][c] = bFull.getEntry(row, c) * s;
            }
            for (int col = 0; col < in; col++) {
                a[c][col] = aFull.getEntry(col, c) * s;
            }
        }
        return new double[][][] {b, a};
    }

    /** {Q with k columns, R k × k} of a tall matrix M (rows ≥ k, else Q is square and R padded). */
    private static RealMatrix[] thinQr(RealMatrix m, int k) {
        QRDecomposition qr = new QRDecomposition(m);
        int cols = Math.min(k, m.getRowDimension());
        RealMatrix q = qr.getQ().getSubMatrix(0, m.getRowDimension() - 1, 0, cols - 1);
        RealMatrix rFull = qr.getR().getSubMatrix(0, cols - 1, 0, k - 1);
        if (cols == k) {
            return new RealMatrix[] {q, rFull};
        }
        // fewer rows than k: pad Q with zero columns and R with zero rows so shapes stay k-wide
        RealMatrix qPad = new Array2DRowRealMatrix(m.getRowDimension(), k);
        qPad.setSubMatrix(q.getData(), 0, 0);
        RealMatrix rPad = new Array2DRowRealMatrix(k, k);
        rPad.setSubMatrix(rFull.getData(), 0, 0);
        return new RealMatrix[] {qPad, rPad};
    }

    private static double[][] matrix(float[] v, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m[i][j] = v[i * cols + j];
            }
        }
        return m;
    }

    private static float[] flat(double[][] m) {
        float[] f = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                f[i * m[0].length + j] = (float) m[i][j];
            }
        }
        return f;
    }
}
