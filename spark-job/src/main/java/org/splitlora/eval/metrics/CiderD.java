package org.splitlora.eval.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * CIDEr-D as in pycocoevalcap (the E2E scorer's "CIDEr"). Each sentence becomes one TF-IDF
 * vector per n-gram order 1..4, with document frequencies counted over the reference groups of
 * the scored corpus itself (an n-gram counts once per group). A hypothesis scores, per order, the
 * cosine with each reference where the hypothesis weights are clipped at the reference's, damped
 * by a Gaussian (sigma 6) of the difference in length; the orders are averaged, the references
 * averaged, and the result multiplied by 10. As in that code, "length" is the bigram count.
 */
public final class CiderD {

    static final int MAX_N = 4;
    static final double SIGMA = 6.0;

    private CiderD() {
    }

    /** Corpus CIDEr-D: the mean of the per-hypothesis scores. */
    public static double corpus(List<List<List<String>>> references, List<List<String>> hypotheses) {
        Corpus.checkAligned(references, hypotheses);
        Map<List<String>, Integer> documentFrequency = new HashMap<>();
        for (List<List<String>> group : references) {
            Set<List<String>> seen = new HashSet<>();
            for (List<String> ref : group) {
                seen.addAll(Ngrams.upTo(ref, MAX_N).keySet());
            }
            seen.forEach(g -> documentFrequency.merge(g, 1, Integer::sum));
        }
        double logDocuments = Math.log(references.size());
        double sum = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            TfIdf hyp = new TfIdf(hypotheses.get(i), documentFrequency, logDocuments);
            double[] perOrder = new double[MAX_N];
            for (List<String> ref : references.get(i)) {
                hyp.addSimilarity(new TfIdf(ref, documentFrequency, logDocuments), perOrder);
            }
            double mean = 0;
            for (double v : perOrder) {
                mean += v / MAX_N;
            }
            sum += mean / references.get(i).size() * 10.0;
        }
        return sum / hypotheses.size();
    }

    /** One sentence's TF-IDF vectors, their norms and its length (bigram count). */
    private static final class TfIdf {
        final List<Map<List<String>, Double>> vectors = new ArrayList<>();
        final double[] norms = new double[MAX_N];
        final int length;

        TfIdf(List<String> tokens, Map<List<String>, Integer> documentFrequency, double logDocuments) {
            for (int n = 1; n <= MAX_N; n++) {
                Map<List<String>, Double> vec = new HashMap<>();
                double squares = 0;
                for (Map.Entry<List<String>, Integer> e : Ngrams.of(tokens, n).entrySet()) {
                    double df = Math.log(Math.max(1.0, documentFrequency.getOrDefault(e.getKey(), 0)));
                    double w = e.getValue() * (logDocuments - df);
                    vec.put(e.getKey(), w);
                    squares += w * w;
                }
                vectors.add(vec);
                norms[n - 1] = Math.sqrt(squares);
            }
            length = Ngrams.countOfLength(tokens.size(), 2);
        }

        /** Adds this (hypothesis) vector's clipped, length-damped cosine with {@code ref}, per order. */
        void addSimilarity(TfIdf ref, double[] perOrder) {
            double delta = length - ref.length;
            double damping = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
            for (int n = 0; n < MAX_N; n++) {
                double val = 0;
                Map<List<String>, Double> refVec = ref.vectors.get(n);
                for (Map.Entry<List<String>, Double> e : vectors.get(n).entrySet()) {
                    double r = refVec.getOrDefault(e.getKey(), 0.0);
                    val += Math.min(e.getValue(), r) * r;
                }
                if (norms[n] != 0 && ref.norms[n] != 0) {
                    val /= norms[n] * ref.norms[n];
                }
                perOrder[n] += val * damping;
            }
        }
    }
}
