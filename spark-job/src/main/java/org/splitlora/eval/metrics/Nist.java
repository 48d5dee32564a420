package org.splitlora.eval.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus NIST as mteval-v13a computes it (n = 1..5). Each n-gram carries an information weight
 * log2(count(its first n-1 words) / count(it)) counted over every reference sentence of the
 * corpus (for unigrams the numerator is the total reference word count). The score sums, per
 * order, the weights of the clipped matches divided by the hypothesis n-gram count, times a
 * brevity penalty exp(-beta log^2(min(1, hyp length / reference length))) that is 0.5 at a
 * length ratio of 2/3; the reference length is the mean reference sentence length times the
 * number of segments.
 */
public final class Nist {

    static final int MAX_N = 5;
    private static final double BETA = -Math.log(0.5) / (Math.log(1.5) * Math.log(1.5));

    private Nist() {
    }

    /** Corpus NIST of tokenized hypotheses against their tokenized reference groups. */
    public static double corpus(List<List<List<String>>> references, List<List<String>> hypotheses) {
        Corpus.checkAligned(references, hypotheses);
        Map<List<String>, Double> info = informationWeights(references);
        double[] matchedInfo = new double[MAX_N + 1];
        long[] totals = new long[MAX_N + 1];
        long refWords = 0;
        long refSentences = 0;
        long hypWords = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            List<String> hyp = hypotheses.get(i);
            Map<List<String>, Integer> maxRef = Ngrams.maxOver(references.get(i), MAX_N);
            Ngrams.upTo(hyp, MAX_N).forEach((g, c) -> {
                int matched = Math.min(c, maxRef.getOrDefault(g, 0));
                if (matched > 0) {
                    matchedInfo[g.size()] += matched * info.get(g);
                }
            });
            for (int n = 1; n <= MAX_N; n++) {
                totals[n] += Ngrams.countOfLength(hyp.size(), n);
            }
            hypWords += hyp.size();
            for (List<String> ref : references.get(i)) {
                refWords += ref.size();
                refSentences += ref.isEmpty() ? 0 : 1;
            }
        }
        double score = 0;
        for (int n = 1; n <= MAX_N; n++) {
            score += matchedInfo[n] / Math.max(totals[n], 1);
        }
        double refLength = refSentences == 0 ? 0 : refWords / (double) refSentences * hypotheses.size();
        return score * lengthPenalty(hypWords / refLength);
    }

    static double lengthPenalty(double ratio) {
        if (ratio >= 1) {
            return 1;
        }
        if (ratio <= 0) {
            return 0;
        }
        double l = Math.log(ratio);
        return Math.exp(-BETA * l * l);
    }

    /** log2(count(prefix) / count(n-gram)) for every n-gram of every reference sentence. */
    static Map<List<String>, Double> informationWeights(List<List<List<String>>> references) {
        Map<List<String>, Integer> counts = new HashMap<>();
        long words = 0;
        for (List<List<String>> group : references) {
            for (List<String> ref : group) {
                Ngrams.upTo(ref, MAX_N).forEach((g, c) -> counts.merge(g, c, Integer::sum));
                words += ref.size();
            }
        }
        Map<List<String>, Double> info = new HashMap<>();
        for (Map.Entry<List<String>, Integer> e : counts.entrySet()) {
            List<String> g = e.getKey();
            // mteval reads a prefix that is the string "0" as false, so it takes the word count
            boolean wholeCorpus = g.size() == 1 || (g.size() == 2 && g.get(0).equals("0"));
            double prefix = wholeCorpus ? words : counts.get(g.subList(0, g.size() - 1));
            info.put(g, Math.log(prefix / e.getValue()) / Math.log(2));
        }
        return info;
    }
}
