package org.splitlora.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.testutil.Fixtures;

/**
 * The scorer against the official E2E scorer (e2e-metrics measure_scores.py, with mteval-v13a and
 * pycocoevalcap) run on the same inputs; its numbers are printed to 4 decimals, the ones here were
 * read at full precision from the same scripts. METEOR has no official number here: the scorer's
 * Meteor 1.5 jar and paraphrase table are not in its stored snapshot.
 */
class E2eScorerTest {

    private static final double TOL = 1e-9;

    private static ScoringInput example() {
        return ScoringInput.read(Fixtures.file("e2e-metrics/devel-conc.txt"), Fixtures.file("e2e-metrics/baseline-output.txt"));
    }

    @Tag("fixtures")
    @Test
    void officialExampleInputs() {
        ScoringInput in = example();
        assertEquals(10, in.references().size());
        assertEquals(List.of(6, 6, 6, 6, 9, 11, 37, 39, 10, 7), in.references().stream().map(List::size).toList());
        E2eScores s = E2eScorer.score(in.references(), in.hypotheses());
        assertEquals(0.720292849432, s.bleu(), TOL);
        assertEquals(7.821151927456, s.nist(), TOL);
        assertEquals(0.7909526131515365, s.rougeL(), TOL);
        assertEquals(2.303943135258847, s.cider(), TOL);
    }

    @Tag("fixtures")
    @Test
    void firstReferenceAsOutput() {
        ScoringInput in = example();
        List<String> first = in.references().stream().map(g -> g.get(0)).toList();
        E2eScores s = E2eScorer.score(in.references(), first);
        assertEquals(1.0, s.bleu(), TOL);
        assertEquals(10.497147972253, s.nist(), TOL);
        assertEquals(1.0, s.rougeL(), TOL);
        assertEquals(2.4815214978824756, s.cider(), TOL);
        // each segment aligns in one chunk (score 1), but like Meteor's aggregate the corpus score
        // comes from summed statistics: 10 chunks over all matched words fragment it
        Meteor.Stemmer stemmer = new Meteor.Stemmer();
        int words = 0;
        for (int i = 0; i < first.size(); i++) {
            List<List<String>> refs = in.references().get(i).stream().map(E2eScorer::cocoTokens).toList();
            Meteor.Stats seg = Meteor.best(refs, E2eScorer.cocoTokens(first.get(i)), stemmer);
            assertEquals(1.0, seg.score(), TOL);
            words += seg.matches();
        }
        assertEquals(1 - 0.6 * Math.pow(10.0 / words, 0.2), s.meteor(), TOL);
    }

    @Tag("fixtures")
    @Test
    void lowerCasingChangesNothing() {
        ScoringInput in = example();
        List<String> lower = in.hypotheses().stream().map(String::toLowerCase).toList();
        assertEquals(E2eScorer.score(in.references(), in.hypotheses()), E2eScorer.score(in.references(), lower));
    }

    @Test
    void twoSmallInstances() {
        E2eScores s = E2eScorer.score(
                List.of(List.of("the cat sat on the mat", "there is a cat on the mat"),
                        List.of("a dog is in the park.", "The dog plays in the park!")),
                List.of("the cat is on the mat", "A dog plays in the park."));
        assertEquals(0.664354886151, s.bleu(), TOL);
        assertEquals(4.565341773347, s.nist(), TOL);
        assertEquals(0.8333333333333334, s.rougeL(), TOL);
        assertEquals(5.052145268019152, s.cider(), TOL);
    }

    @Test
    void pricesContractionsAndBrackets() {
        E2eScores s = E2eScorer.score(
                List.of(List.of("The Eagle is a coffee shop with a price range of £20-25. It isn't family-friendly.",
                                "Near Burger King, The Eagle (a coffee shop) charges £20-25; it's not kid friendly.",
                                "The Eagle coffee shop is not family-friendly and costs 20-25 pounds."),
                        List.of("Browns Cambridge serves Italian food at a price of more than £30, rated 5 out of 5.",
                                "Browns Cambridge, an Italian place, is highly rated (5 out of 5) and costs over £30.")),
                List.of("The Eagle is a coffee shop near Burger King with prices of £20-25 and isn't family-friendly.",
                        "Browns Cambridge is an Italian restaurant, rated 5 out of 5, with prices over £30."));
        assertEquals(0.454642066967, s.bleu(), TOL);
        assertEquals(5.160620196504, s.nist(), TOL);
        assertEquals(0.7109905421088109, s.rougeL(), TOL);
        assertEquals(3.0658587228117438, s.cider(), TOL);
    }

    @Test
    void emptyOutputScoresZeroForItsSegment() {
        E2eScores s = E2eScorer.score(
                List.of(List.of("Alimentum is located in the city centre.", "Alimentum is in the centre of the city."),
                        List.of("Alimentum is family-friendly.")),
                List.of("Alimentum is in the city centre.", ""));
        assertEquals(0.455569847117, s.bleu(), TOL);
        assertEquals(0.589619715671, s.nist(), TOL);
        assertEquals(0.45522388059701485, s.rougeL(), TOL);
        assertEquals(2.697016549053, s.cider(), 1e-9);
    }
}
