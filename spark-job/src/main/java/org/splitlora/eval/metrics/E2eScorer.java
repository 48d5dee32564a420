package org.splitlora.eval.metrics;

import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Scores system outputs against grouped references the way the E2E NLG challenge scorer
 * (e2e-metrics' measure_scores.py) does: BLEU and NIST on mteval-v13a tokens; METEOR, ROUGE-L and
 * CIDEr on the COCO caption pipeline's tokens (PTB tokenization, lower-cased, punctuation dropped).
 */
public final class E2eScorer {

    /** The punctuation tokens the COCO caption evaluation drops after PTB tokenization. */
    private static final Set<String> COCO_PUNCTUATION = Set.of("''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-",
            ".", "?", "!", ",", ":", "-", "--", "...", ";");

    private E2eScorer() {
    }

    /** Scores one hypothesis per reference group (lines as they were read, stripped at their ends). */
    public static E2eScores score(List<List<String>> references, List<String> hypotheses) {
        Corpus.checkAligned(references, hypotheses);
        List<List<List<String>>> mtRefs = tokenizeGroups(references, MtevalTokenizer::tokenize);
        List<List<String>> mtHyps = hypotheses.stream().map(MtevalTokenizer::tokenize).toList();
        List<List<List<String>>> cocoRefs = tokenizeGroups(references, E2eScorer::cocoTokens);
        List<List<String>> cocoHyps = hypotheses.stream().map(E2eScorer::cocoTokens).toList();
        return new E2eScores(
                Bleu.corpus(mtRefs, mtHyps),
                Nist.corpus(mtRefs, mtHyps),
                Meteor.corpus(cocoRefs, cocoHyps),
                RougeL.corpus(cocoRefs, cocoHyps),
                CiderD.corpus(cocoRefs, cocoHyps));
    }

    /** PTB tokens, lower-cased, without the punctuation tokens the COCO evaluation drops. */
    static List<String> cocoTokens(String text) {
        return withoutCocoPunctuation(PtbTokenizer.tokenize(text));
    }

    /** The tokens the COCO evaluation keeps of a PTB tokenization. */
    static List<String> withoutCocoPunctuation(List<String> ptbTokens) {
        return ptbTokens.stream().filter(t -> !COCO_PUNCTUATION.contains(t)).toList();
    }

    private static List<List<List<String>>> tokenizeGroups(List<List<String>> groups, Function<String, List<String>> tokenizer) {
        return groups.stream().map(g -> g.stream().map(tokenizer).toList()).toList();
    }
}
