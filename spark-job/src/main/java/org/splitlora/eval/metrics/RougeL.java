package org.splitlora.eval.metrics;

import java.util.List;

/**
 * ROUGE-L as in pycocoevalcap (the E2E scorer's): per hypothesis, the longest common subsequence
 * with each reference gives a precision (over the hypothesis length) and a recall (over the
 * reference length); the best precision and the best recall over the references combine into
 * F_beta with beta = 1.2. The corpus score is the mean over hypotheses.
 */
public final class RougeL {

    static final double BETA = 1.2;

    private RougeL() {
    }

    /** Corpus ROUGE-L of tokenized hypotheses against their tokenized reference groups. */
    public static double corpus(List<List<List<String>>> references, List<List<String>> hypotheses) {
        Corpus.checkAligned(references, hypotheses);
        double sum = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            sum += sentence(references.get(i), hypotheses.get(i));
        }
        return sum / hypotheses.size();
    }

    /** ROUGE-L of one hypothesis against its references. */
    public static double sentence(List<List<String>> references, List<String> hypothesis) {
        double bestPrecision = 0;
        double bestRecall = 0;
        for (List<String> ref : references) {
            int lcs = lcs(ref, hypothesis);
            if (!hypothesis.isEmpty()) {
                bestPrecision = Math.max(bestPrecision, lcs / (double) hypothesis.size());
            }
            if (!ref.isEmpty()) {
                bestRecall = Math.max(bestRecall, lcs / (double) ref.size());
            }
        }
        if (bestPrecision == 0 || bestRecall == 0) {
            return 0;
        }
        double b2 = BETA * BETA;
        return (1 + b2) * bestPrecision * bestRecall / (bestRecall + b2 * bestPrecision);
    }

    /** Length of the longest common subsequence of two token sequences. */
    static int lcs(List<String> a, List<String> b) {
        int[] prev = new int[b.size() + 1];
        int[] cur = new int[b.size() + 1];
        for (String x : a) {
            for (int j = 1; j <= b.size(); j++) {
                cur[j] = x.equals(b.get(j - 1)) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.size()];
    }
}
