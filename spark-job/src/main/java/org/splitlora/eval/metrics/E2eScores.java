package org.splitlora.eval.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/** The five E2E challenge metrics; BLEU, METEOR and ROUGE-L are fractions in [0, 1] as the official scorer prints them. */
public record E2eScores(double bleu, double nist, double meteor, double rougeL, double cider) {

    /** The scores under the official scorer's names, in its order. */
    public Map<String, Double> asMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("BLEU", bleu);
        m.put("NIST", nist);
        m.put("METEOR", meteor);
        m.put("ROUGE_L", rougeL);
        m.put("CIDEr", cider);
        return m;
    }
}
