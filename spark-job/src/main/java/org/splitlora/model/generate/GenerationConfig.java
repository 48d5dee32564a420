package org.splitlora.model.generate;

import java.util.Set;

/**
 * Decoding settings, as in HF {@code GenerationConfig}: greedy, sampling (temperature, top-k,
 * top-p, seed) or beam search (beams, length penalty, no-repeat n-gram). Generation stops at any
 * of {@code eosTokenIds} or after {@code maxNewTokens}.
 */
public record GenerationConfig(
        Strategy strategy,
        int maxNewTokens,
        double temperature,
        int topK,
        double topP,
        long seed,
        int numBeams,
        double lengthPenalty,
        int noRepeatNgramSize,
        boolean earlyStopping,
        Set<Integer> eosTokenIds) implements java.io.Serializable {

    public enum Strategy { GREEDY, SAMPLE, BEAM }

    public GenerationConfig {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max new tokens must be >= 1, got " + maxNewTokens);
        }
        if (strategy == Strategy.SAMPLE && !(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        if (strategy == Strategy.BEAM && numBeams < 1) {
            throw new IllegalArgumentException("beam size must be >= 1, got " + numBeams);
        }
        if (noRepeatNgramSize < 0) {
            throw new IllegalArgumentException("no-repeat n-gram size must be >= 0, got " + noRepeatNgramSize);
        }
        eosTokenIds = Set.copyOf(eosTokenIds);
    }

    public static GenerationConfig greedy(int maxNewTokens, Set<Integer> eos) {
        return new GenerationConfig(Strategy.GREEDY, maxNewTokens, 1, 0, 1, 0, 1, 1, 0, false, eos);
    }

    public static GenerationConfig sample(int maxNewTokens, double temperature, int topK, double topP, long seed, Set<Integer> eos) {
        return new GenerationConfig(Strategy.SAMPLE, maxNewTokens, temperature, topK, topP, seed, 1, 1, 0, false, eos);
    }

    public static GenerationConfig beam(int maxNewTokens, int beams, double lengthPenalty, int noRepeatNgram, Set<Integer> eos) {
        return new GenerationConfig(Strategy.BEAM, maxNewTokens, 1, 0, 1, 0, beams, lengthPenalty, noRepeatNgram, false, eos);
    }

    /** The LoRA paper's E2E decoding: beam 10, length penalty 0.8, no-repeat 4-gram, 64 new tokens. */
    public static GenerationConfig e2ePaper(Set<Integer> eos) {
        return beam(64, 10, 0.8, 4, eos);
    }
}
