package org.splitlora.aggregation;

import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;

/**
 * LoRA factors in ΔW space. The weighted sum of several holders' updates Σ c_i·B_i·A_i (the
 * holders may have different ranks; c_i carries the averaging weight and the ratio of LoRA
 * scalings) re-factored into rank r by truncated SVD: the best rank-r approximation
 * (Eckart–Young). Averaging A and B separately, as plain FedAvg does, is not the average of B·A.
 *
 * <p>The SVD is taken of a small matrix: with P = [c_1 B_1 … c_n B_n] (out × Σr_i) and
 * Q = [A_1; …; A_n] (Σr_i × in), ΔW = P·Q; thin QR of P and of Qᵀ reduces it to R_P·R_Qᵀ, whose
 * singular values are ΔW's. The result is B = Q_P·U_r·√Σ_r and A = √Σ_r·V_rᵀ·Q_Qᵀ.
 */
final class DeltaWeights {

    private DeltaWeights() {}

    /** One holder's B [out, r_i] and A [r_i, in] and the coefficient of its B·A in the sum. */
    record Factors(double[][] b, double[][] a, double coefficient) {
        int rank() {
            return a.length;
        }
    }

    /**
     * B [out, r] and A [r, in], and the truncation error ‖ΔW − B·A‖_F / ‖ΔW‖_F (0 for ΔW = 0).
     */
    record Refactored(double[][] b, double[][] a, double truncationError) {}

    /**
     * The best rank-r factors of Σ c_i·B_i·A_i. Directions the sum does not fill (zero singular
     * values) get a fresh A row (Kaiming-uniform, as LoRA initialises A) and a zero B column: the
     * product is unchanged, and the direction can still learn (a zero A row and zero B column
     * would never get a gradient again).
     */
    static Refactored refactor(List<Factors> holders, int r, SplittableRandom fill) {
        int out = holders.get(0).b().length;
        int in = holders.get(0).a()[0].length;
        int k = 0;
        for (Factors f : holders) {
            k += f.rank();
        }
        double[][] p = new double[out][k];
        double[][] qt = new double[in][k];
        int offset = 0;
        for (Factors f : holders) {
            for (int c = 0; c < f.rank(); c++) {
                for (int row = 0; row < out; row++) {
                    p[row][offset + c] = f.coefficient() * f.b()[row][c];
                }
                for (int col = 0; col < in; col++) {
                    qt[col][offset + c] = f.a()[c][col];
                }
            }
            offset += f.rank();
        }
        RealMatrix[] pqr = thinQr(new Array2DRowRealMatrix(p, false), k);
        RealMatrix[] qqr = thinQr(new Array2DRowRealMatrix(qt, false), k);
        SingularValueDecomposition svd = new SingularValueDecomposition(pqr[1].multiply(qqr[1].transpose()));
        double[] sigma = svd.getSingularValues();
        RealMatrix bFull = pqr[0].multiply(svd.getU());
        RealMatrix aFull = qqr[0].multiply(svd.getV());
        double[][] b = new double[out][r];
        double[][] a = new double[r][in];
        double kept = 0;
        double total = 0;
        for (int c = 0; c < sigma.length; c++) {
            total += sigma[c] * sigma[c];
            if (c < r) {
                kept += sigma[c] * sigma[c];
            }
        }
        double floor = 1e-12 * (sigma.length == 0 ? 0 : sigma[0]);
        double bound = 1 / Math.sqrt(in);
        for (int c = 0; c < r; c++) {
            if (c < sigma.length && sigma[c] > floor && sigma[c] > 0) {
                double s = Math.sqrt(sigma[c]);
                for (int row = 0; row < out; row++) {
                    b[row][c] = bFull.getEntry(row, c) * s;
                }
                for (int col = 0; col < in; col++) {
                    a[c][col] = aFull.getEntry(col, c) * s;
                }
            } else {
                for (int col = 0; col < in; col++) {
                    a[c][col] = (fill.nextDouble() * 2 - 1) * bound;
                }
            }
        }
        double error = total > 0 ? Math.sqrt(Math.max(0, total - kept) / total) : 0;
        return new Refactored(b, a, error);
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

    static double[][] matrix(float[] v, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m[i][j] = v[i * cols + j];
            }
        }
        return m;
    }

    static float[] flat(double[][] m) {
        int cols = m.length == 0 ? 0 : m[0].length;
        float[] f = new float[m.length * cols];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < cols; j++) {
                f[i * cols + j] = (float) m[i][j];
            }
        }
        return f;
    }
}
