package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.testutil.Fixtures;
import org.splitlora.testutil.ReferenceSafetensors;

/**
 * The tiny GPT-2 fixtures (fp32 and BF16) against a plain-Java, double-precision GPT2LMHeadModel
 * forward written from the HF semantics: learned positions, pre-LN blocks, Conv1D [in, out]
 * weights, fused q|k|v, gelu_new, causal softmax attention scaled by 1/√head_dim, tied head.
 */
@Tag("fixtures")
class Gpt2ReferenceTest {

    /** "<|endoftext|>The quick brown fox jumps over the lazy dog" in GPT-2 BPE. */
    static final int[] IDS = {50256, 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290};

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gpt2", "tiny-gpt2-bf16"})
    void logitsFollowHfGpt2(String fixture) throws Exception {
        Path dir = Fixtures.file("hf/" + fixture);
        ModelSource source = ModelSource.of(dir.toString());
        ModelConfig c = source.config();
        assertEquals(32, c.hiddenSize());
        assertEquals(4, c.numLayers());
        double[][] expected = new ReferenceGpt2(ReferenceSafetensors.read(dir.resolve("model.safetensors")), c).logits(IDS);
        float[][] actual = ModelTestSupport.logits(source, IDS);
        double maxDiff = 0;
        for (int t = 0; t < IDS.length; t++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected[t][v] - actual[t][v]));
            }
            assertArrayEquals(ModelTestSupport.topK(expected[t], 10), ModelTestSupport.topK(actual[t], 10),
                    "top-10 ids at position " + t);
        }
        assertTrue(maxDiff < 1e-4, "max |logit - reference| = " + maxDiff);
    }

    /** Straightforward double-precision GPT-2 forward over the raw fixture tensors. */
    static final class ReferenceGpt2 {
        private final Map<String, double[]> w;
        private final int d;
        private final int heads;
        private final int ff;
        private final int vocab;
        private final int layers;
        private final double eps;

        ReferenceGpt2(Map<String, double[]> weights, ModelConfig c) {
            this.w = weights;
            this.d = c.hiddenSize();
            this.heads = c.numHeads();
            this.ff = c.intermediateSize();
            this.vocab = c.vocabSize();
            this.layers = c.numLayers();
            this.eps = c.normEps();
        }

        double[][] logits(int[] ids) {
            int n = ids.length;
            double[][] h = new double[n][d];
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < d; i++) {
                    h[t][i] = w.get("wte.weight")[ids[t] * d + i] + w.get("wpe.weight")[t * d + i];
                }
            }
            for (int l = 0; l < layers; l++) {
                String p = "h." + l + ".";
                double[][] x = layerNorm(h, w.get(p + "ln_1.weight"), w.get(p + "ln_1.bias"));
                double[][] qkv = conv1d(x, w.get(p + "attn.c_attn.weight"), w.get(p + "attn.c_attn.bias"), d, 3 * d);
                double[][] att = attention(qkv, n);
                double[][] proj = conv1d(att, w.get(p + "attn.c_proj.weight"), w.get(p + "attn.c_proj.bias"), d, d);
                add(h, proj);
                double[][] x2 = layerNorm(h, w.get(p + "ln_2.weight"), w.get(p + "ln_2.bias"));
                double[][] up = conv1d(x2, w.get(p + "mlp.c_fc.weight"), w.get(p + "mlp.c_fc.bias"), d, ff);
                for (double[] row : up) {
                    for (int i = 0; i < row.length; i++) {
                        double u = row[i];
                        row[i] = 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
                    }
                }
                add(h, conv1d(up, w.get(p + "mlp.c_proj.weight"), w.get(p + "mlp.c_proj.bias"), ff, d));
            }
            double[][] f = layerNorm(h, w.get("ln_f.weight"), w.get("ln_f.bias"));
            double[] wte = w.get("wte.weight");
            double[][] out = new double[n][vocab];
            for (int t = 0; t < n; t++) {
                for (int v = 0; v < vocab; v++) {
                    double s = 0;
                    for (int i = 0; i < d; i++) {
                        s += f[t][i] * wte[v * d + i];
                    }
                    out[t][v] = s;
                }
            }
            return out;
        }

        private double[][] attention(double[][] qkv, int n) {
            int hd = d / heads;
            double[][] out = new double[n][d];
            for (int hh = 0; hh < heads; hh++) {
                for (int t = 0; t < n; t++) {
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) {
                            dot += qkv[t][hh * hd + i] * qkv[s][d + hh * hd + i];
                        }
                        scores[s] = dot / Math.sqrt(hd);
                        max = Math.max(max, scores[s]);
                    }
                    double z = 0;
                    for (int s = 0; s <= t; s++) {
                        scores[s] = Math.exp(scores[s] - max);
                        z += scores[s];
                    }
                    for (int s = 0; s <= t; s++) {
                        for (int i = 0; i < hd; i++) {
                            out[t][hh * hd + i] += scores[s] / z * qkv[s][2 * d + hh * hd + i];
                        }
                    }
                }
            }
            return out;
        }

        private double[][] layerNorm(double[][] x, double[] g, double[] b) {
            double[][] out = new double[x.length][];
            for (int t = 0; t < x.length; t++) {
                double mean = 0;
                for (double v : x[t]) {
                    mean += v;
                }
                mean /= x[t].length;
                double var = 0;
                for (double v : x[t]) {
                    var += (v - mean) * (v - mean);
                }
                var /= x[t].length;
                out[t] = new double[x[t].length];
                for (int i = 0; i < x[t].length; i++) {
                    out[t][i] = (x[t][i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
                }
            }
            return out;
        }

        private static double[][] conv1d(double[][] x, double[] weight, double[] bias, int in, int out) {
            double[][] y = new double[x.length][out];
            for (int t = 0; t < x.length; t++) {
                for (int o = 0; o < out; o++) {
                    double s = bias[o];
                    for (int i = 0; i < in; i++) {
                        s += x[t][i] * weight[i * out + o];
                    }
                    y[t][o] = s;
                }
            }
            return y;
        }

        private static void add(double[][] h, double[][] delta) {
            for (int t = 0; t < h.length; t++) {
                for (int i = 0; i < h[t].length; i++) {
                    h[t][i] += delta[t][i];
                }
            }
        }
    }
}
