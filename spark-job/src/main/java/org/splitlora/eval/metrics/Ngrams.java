package org.splitlora.eval.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** n-gram multisets of a token sequence; an n-gram is the immutable list of its tokens. */
final class Ngrams {

    private Ngrams() {
    }

    /** Counts of the n-grams of exactly length {@code n}. */
    static Map<List<String>, Integer> of(List<String> tokens, int n) {
        Map<List<String>, Integer> counts = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) {
            counts.merge(List.copyOf(tokens.subList(i, i + n)), 1, Integer::sum);
        }
        return counts;
    }

    /** Counts of the n-grams of every length 1..{@code maxN}. */
    static Map<List<String>, Integer> upTo(List<String> tokens, int maxN) {
        Map<List<String>, Integer> counts = new HashMap<>();
        for (int n = 1; n <= maxN; n++) {
            counts.putAll(of(tokens, n));
        }
        return counts;
    }

    /** For each n-gram, the highest count it has in any of the references (BLEU's clipping). */
    static Map<List<String>, Integer> maxOver(List<List<String>> references, int maxN) {
        Map<List<String>, Integer> max = new HashMap<>();
        for (List<String> ref : references) {
            upTo(ref, maxN).forEach((g, c) -> max.merge(g, c, Math::max));
        }
        return max;
    }

    /** Number of n-grams of length {@code n} in a sequence of {@code length} tokens. */
    static int countOfLength(int length, int n) {
        return Math.max(0, length - n + 1);
    }
}
