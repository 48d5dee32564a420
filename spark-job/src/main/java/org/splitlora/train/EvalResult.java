package org.splitlora.train;

/** Mean next-token loss over target tokens (no smoothing, no dropout) and its perplexity. */
public record EvalResult(double loss, long targets) {

    public double perplexity() {
        return Math.exp(loss);
    }
}
