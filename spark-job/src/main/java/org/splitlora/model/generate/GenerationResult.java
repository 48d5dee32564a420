package org.splitlora.model.generate;

/**
 * The continuation of a prompt (prompt and final EOS left out), its score (sum of log-probs, or the
 * length-penalised beam score) and whether it ended on an EOS token.
 */
public record GenerationResult(int[] tokens, double score, boolean endedWithEos) {}
