package org.splitlora.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import edu.stanford.nlp.process.PTBTokenizer;
import edu.stanford.nlp.process.Tokenizer;
import edu.stanford.nlp.process.WordTokenFactory;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.testutil.Fixtures;

/** Our PTB tokenization against Stanford CoreNLP 3.4.1's, the one the COCO caption scorer runs. */
class PtbTokenizerTest {

    @Tag("fixtures")
    @Test
    void matchesCoreNlpOnEveryE2eReference() throws Exception {
        Set<String> refs = new LinkedHashSet<>();
        for (String f : List.of("trainset.csv", "devset.csv", "testset_w_refs.csv")) {
            try (Reader r = Files.newBufferedReader(Fixtures.file("e2e/" + f), StandardCharsets.UTF_8)) {
                for (CSVRecord row : CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get().parse(r)) {
                    refs.add(row.get("ref").strip().replace('\n', ' '));
                }
            }
        }
        List<String> mismatches = new ArrayList<>();
        for (String ref : refs) {
            List<String> expected = coreNlpCocoTokens(ref);
            List<String> actual = E2eScorer.cocoTokens(ref);
            if (!expected.equals(actual)) {
                mismatches.add(ref + "\n  corenlp: " + expected + "\n  ours:    " + actual);
            }
        }
        // CoreNLP's lexer has a few context quirks we do not copy (a comma kept inside
        // "french,family-friendly"; "L." at the end of a line kept or split depending on context)
        assertTrue(refs.size() > 49_000, "all distinct references read: " + refs.size());
        assertTrue(mismatches.size() <= 5, mismatches.size() + " of " + refs.size() + " differ:\n"
                + String.join("\n", mismatches.subList(0, Math.min(20, mismatches.size()))));
    }

    @Test
    void rulesOnSmallCases() {
        assertEquals(List.of("the", "eagle", "is", "n't", "cheap", "#", "20-25", "3/5", "-lrb-", "kids", "-rrb-"),
                E2eScorer.cocoTokens("The Eagle isn't cheap: £20-25, 3/5 (kids)."));
        assertEquals(List.of("near", "st.", "john", "'s", "-25", ".6"), E2eScorer.cocoTokens("near St. John's -25 .6"));
    }

    /** CoreNLP's tokens lower-cased (the scorer's -lowerCase), then the scorer's punctuation drop. */
    private static List<String> coreNlpCocoTokens(String line) {
        Tokenizer<?> tok = PTBTokenizer.factory(new WordTokenFactory(), "")
                .getTokenizer(new StringReader(line));
        List<String> tokens = new ArrayList<>();
        while (tok.hasNext()) {
            tokens.add(tok.next().toString().toLowerCase(java.util.Locale.ROOT)); // what its -lowerCase does
        }
        return E2eScorer.withoutCocoPunctuation(tokens);
    }
}
