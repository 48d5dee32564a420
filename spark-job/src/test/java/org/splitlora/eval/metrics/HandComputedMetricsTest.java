package org.splitlora.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Small cases worked out by hand from the metrics' definitions. */
class HandComputedMetricsTest {

    private static List<String> words(String s) {
        return List.of(s.split(" "));
    }

    private static final List<List<List<String>>> CAT_REFS =
            List.of(List.of(words("the cat sat on the mat"), words("there is a cat on the mat")));
    private static final List<List<String>> CAT_HYP = List.of(words("the cat is on the mat"));

    @Test
    void bleuOfTheCat() {
        // unigrams 6/6 ("the" clipped at 2), bigrams 3/5, trigrams 1/4, 4-grams 0/3 -> mteval's 1/(2*3);
        // closest reference length 6 = hypothesis length, so no brevity penalty
        double expected = Math.pow(1.0 * 3 / 5 * 1 / 4 * 1 / 6, 0.25);
        assertEquals(expected, Bleu.corpus(CAT_REFS, CAT_HYP), 1e-12);
    }

    @Test
    void bleuBrevityPenaltyUsesTheClosestReference() {
        // hypothesis of 3 words, references of 4 and 7: r = 4, BP = exp(1 - 4/3)
        List<List<List<String>>> refs = List.of(List.of(words("a b c d"), words("a b c x y z w")));
        double bleu = Bleu.corpus(refs, List.of(words("a b c")));
        // precisions 3/3, 2/2, 1/1 and no 4-gram in the hypothesis (counts as 1)
        assertEquals(Math.exp(1 - 4.0 / 3), bleu, 1e-12);
        assertEquals(3, Bleu.closestLength(List.of(words("a b c d e"), words("a b c")), 4), "tie goes to the shorter");
    }

    @Test
    void rougeLOfTheCat() {
        // LCS 5 with the first reference ("the cat on the mat"), 4 with the second: P = 5/6, R = max(5/6, 4/7)
        double p = 5.0 / 6;
        double r = 5.0 / 6;
        double b2 = 1.2 * 1.2;
        assertEquals((1 + b2) * p * r / (r + b2 * p), RougeL.corpus(CAT_REFS, CAT_HYP), 1e-12);
        assertEquals(5, RougeL.lcs(words("the cat sat on the mat"), words("the cat is on the mat")));
    }

    @Test
    void nistInformationWeights() {
        // references "a b" and "a c": count(a) = 2, count(a b) = 1, 4 words
        var info = Nist.informationWeights(List.of(List.of(words("a b"), words("a c"))));
        assertEquals(1.0, info.get(List.of("a")), 1e-12); // log2(4/2)
        assertEquals(2.0, info.get(List.of("b")), 1e-12); // log2(4/1)
        assertEquals(1.0, info.get(List.of("a", "b")), 1e-12); // log2(2/1)
        assertEquals(0.5, Nist.lengthPenalty(2.0 / 3), 1e-12);
    }

    @Test
    void meteorOfAStemMatchAndOfAReordering() {
        Meteor.Stemmer stem = new Meteor.Stemmer();
        // "cats"~"cat" by stem (0.6): P = R = 2.6/3, one chunk covering all words -> no fragmentation
        Meteor.Stats s = Meteor.align(words("the cats sat"), words("the cat sat"), stem);
        assertEquals(3, s.matches());
        assertEquals(1, s.chunks());
        assertEquals(2.6 / 3, s.score(), 1e-12);
        // "sat the cat" vs "the cat sat": 3 exact matches in 2 chunks -> (1 - 0.6 (2/3)^0.2)
        Meteor.Stats r = Meteor.align(words("sat the cat"), words("the cat sat"), stem);
        assertEquals(2, r.chunks());
        assertEquals(1 - 0.6 * Math.pow(2.0 / 3, 0.2), r.score(), 1e-12);
    }

    @Test
    void ciderOfOneInstanceIsZero() {
        // with a single instance every n-gram's document frequency equals the corpus size: idf 0
        assertEquals(0.0, CiderD.corpus(CAT_REFS, CAT_HYP), 0);
    }
}
