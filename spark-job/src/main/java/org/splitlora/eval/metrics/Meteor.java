package org.splitlora.eval.metrics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tartarus.snowball.ext.EnglishStemmer;

/**
 * METEOR with Meteor 1.5's English ranking parameters (alpha 0.85, beta 0.2, gamma 0.6) and two of
 * its four matching modules: exact (weight 1.0) and Snowball stem (weight 0.6). Meteor's synonym
 * (WordNet) and paraphrase-table modules, and its function-word weighting (delta), need resources
 * that are not available here, so every word counts as a content word; scores are therefore a
 * little lower than Meteor 1.5's on text that uses synonyms or paraphrases of the references.
 *
 * <p>Per segment the best-scoring reference is chosen; as in Meteor's aggregate mode the corpus
 * score is computed from the segment statistics summed over the corpus, not by averaging.
 */
public final class Meteor {

    static final double ALPHA = 0.85;
    static final double BETA = 0.20;
    static final double GAMMA = 0.60;
    static final double EXACT_WEIGHT = 1.0;
    static final double STEM_WEIGHT = 0.6;
    private static final int BEAM = 40;

    private Meteor() {
    }

    /** Sufficient statistics of one aligned segment pair; they add up over a corpus. */
    record Stats(int hypLength, int refLength, int matches, double weightedMatches, int chunks) {

        Stats plus(Stats o) {
            return new Stats(hypLength + o.hypLength, refLength + o.refLength, matches + o.matches,
                    weightedMatches + o.weightedMatches, chunks + o.chunks);
        }

        double score() {
            if (matches == 0 || hypLength == 0 || refLength == 0) {
                return 0;
            }
            double p = weightedMatches / hypLength;
            double r = weightedMatches / refLength;
            double fmean = p * r / (ALPHA * p + (1 - ALPHA) * r);
            boolean identical = chunks == 1 && matches == hypLength && matches == refLength;
            double fragmentation = identical ? 0 : chunks / (double) matches;
            return fmean * (1 - GAMMA * Math.pow(fragmentation, BETA));
        }
    }

    /** Corpus METEOR of tokenized hypotheses against their tokenized reference groups. */
    public static double corpus(List<List<List<String>>> references, List<List<String>> hypotheses) {
        Corpus.checkAligned(references, hypotheses);
        Stemmer stemmer = new Stemmer();
        Stats total = new Stats(0, 0, 0, 0, 0);
        for (int i = 0; i < hypotheses.size(); i++) {
            total = total.plus(best(references.get(i), hypotheses.get(i), stemmer));
        }
        return total.score();
    }

    /** The statistics against the reference that scores best. */
    static Stats best(List<List<String>> references, List<String> hypothesis, Stemmer stemmer) {
        Stats best = null;
        for (List<String> ref : references) {
            Stats s = align(hypothesis, ref, stemmer);
            if (best == null || s.score() > best.score()) {
                best = s;
            }
        }
        return best;
    }

    /**
     * Aligns hypothesis and reference words one to one: most matched words first, then fewest
     * chunks (runs of matches adjacent in both), then most match weight, then the least distance
     * between matched positions, searched with a beam over hypothesis positions as Meteor does.
     */
    static Stats align(List<String> hyp, List<String> ref, Stemmer stemmer) {
        List<String> hypStems = hyp.stream().map(stemmer::stem).toList();
        List<String> refStems = ref.stream().map(stemmer::stem).toList();
        List<Partial> beam = List.of(new Partial(new boolean[ref.size()], 0, 0, 0, 0, -2, -2));
        for (int i = 0; i < hyp.size(); i++) {
            List<Partial> next = new ArrayList<>();
            for (Partial p : beam) {
                next.add(p.skip());
                for (int j = 0; j < ref.size(); j++) {
                    if (p.usedRef[j]) {
                        continue;
                    }
                    if (hyp.get(i).equals(ref.get(j))) {
                        next.add(p.match(i, j, EXACT_WEIGHT));
                    } else if (hypStems.get(i).equals(refStems.get(j))) {
                        next.add(p.match(i, j, STEM_WEIGHT));
                    }
                }
            }
            next.sort(Partial.BEST_FIRST);
            beam = next.subList(0, Math.min(BEAM, next.size()));
        }
        Partial a = beam.get(0);
        return new Stats(hyp.size(), ref.size(), a.matches, a.weight, a.chunks);
    }

    private record Partial(boolean[] usedRef, int matches, int chunks, double weight, int distance, int lastHyp, int lastRef) {

        static final Comparator<Partial> BEST_FIRST = Comparator.comparingInt((Partial p) -> -p.matches)
                .thenComparingInt(p -> p.chunks)
                .thenComparingDouble(p -> -p.weight)
                .thenComparingInt(p -> p.distance);

        Partial skip() {
            return new Partial(usedRef, matches, chunks, weight, distance, lastHyp, lastRef);
        }

        Partial match(int i, int j, double w) {
            boolean[] used = usedRef.clone();
            used[j] = true;
            boolean continues = lastHyp == i - 1 && lastRef == j - 1;
            return new Partial(used, matches + 1, chunks + (continues ? 0 : 1), weight + w,
                    distance + Math.abs(i - j), i, j);
        }
    }

    /** Snowball English stems, memoised (the stemmer is stateful and not thread-safe). */
    static final class Stemmer {
        private final EnglishStemmer snowball = new EnglishStemmer();
        private final Map<String, String> cache = new HashMap<>();

        String stem(String word) {
            return cache.computeIfAbsent(word, w -> {
                snowball.setCurrent(w);
                snowball.stem();
                return snowball.getCurrent();
            });
        }
    }
}
