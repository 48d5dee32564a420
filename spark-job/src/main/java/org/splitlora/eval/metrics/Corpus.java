package org.splitlora.eval.metrics;

import java.util.List;

/** Shape checks shared by the corpus-level metrics. */
final class Corpus {

    private Corpus() {
    }

    /** One non-empty reference group per hypothesis, and at least one hypothesis. */
    static void checkAligned(List<? extends List<?>> references, List<?> hypotheses) {
        if (hypotheses.isEmpty()) {
            throw new IllegalArgumentException("no hypotheses to score");
        }
        if (references.size() != hypotheses.size()) {
            throw new IllegalArgumentException(hypotheses.size() + " hypotheses but " + references.size()
                    + " reference groups; there must be one group per hypothesis");
        }
        for (int i = 0; i < references.size(); i++) {
            if (references.get(i).isEmpty()) {
                throw new IllegalArgumentException("reference group " + (i + 1) + " is empty");
            }
        }
    }
}
