package org.splitlora.eval.metrics;

import java.util.List;
import java.util.Map;

/**
 * Corpus BLEU as mteval-v13a computes it: clipped n-gram matches (n = 1..4, each n-gram counted
 * at most its largest count in any one reference) and hypothesis n-gram counts are summed over the
 * corpus; the reference length of a segment is that of the reference closest in length to the
 * hypothesis (the shorter one on a tie); BLEU = BP x exp(mean log precision). Like mteval, an
 * order with no match at all counts 1/(2^k x its n-gram count) for the k-th such order, and an
 * order with no hypothesis n-grams counts as precision 1.
 */
public final class Bleu {

    static final int MAX_N = 4;

    private Bleu() {
    }

    /** Corpus BLEU in [0, 1] of tokenized hypotheses against their tokenized reference groups. */
    public static double corpus(List<List<List<String>>> references, List<List<String>> hypotheses) {
        Corpus.checkAligned(references, hypotheses);
        long[] matches = new long[MAX_N + 1];
        long[] totals = new long[MAX_N + 1];
        long refLength = 0;
        long hypLength = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            List<String> hyp = hypotheses.get(i);
            Map<List<String>, Integer> maxRef = Ngrams.maxOver(references.get(i), MAX_N);
            Ngrams.upTo(hyp, MAX_N).forEach((g, c) -> matches[g.size()] += Math.min(c, maxRef.getOrDefault(g, 0)));
            for (int n = 1; n <= MAX_N; n++) {
                totals[n] += Ngrams.countOfLength(hyp.size(), n);
            }
            hypLength += hyp.size();
            refLength += closestLength(references.get(i), hyp.size());
        }
        if (hypLength == 0) {
            return 0;
        }
        double logPrecisions = 0;
        double smoothing = 1;
        for (int n = 1; n <= MAX_N; n++) {
            if (totals[n] == 0) {
                continue;
            }
            if (matches[n] == 0) {
                smoothing *= 2;
                logPrecisions += Math.log(1 / (smoothing * totals[n]));
            } else {
                logPrecisions += Math.log(matches[n] / (double) totals[n]);
            }
        }
        double brevity = Math.min(0, 1 - refLength / (double) hypLength);
        return Math.exp(logPrecisions / MAX_N + brevity);
    }

    /** The length of the non-empty reference closest to {@code length}; on a tie, the shorter. */
    static int closestLength(List<List<String>> references, int length) {
        int best = -1;
        for (List<String> ref : references) {
            if (ref.isEmpty()) {
                continue; // mteval pads reference sets with empty segments and skips them
            }
            int diff = Math.abs(ref.size() - length);
            int bestDiff = Math.abs(best - length);
            if (best < 0 || diff < bestDiff || (diff == bestDiff && ref.size() < best)) {
                best = ref.size();
            }
        }
        return Math.max(best, 0);
    }
}
