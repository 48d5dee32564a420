package org.splitlora.datasets;

import java.util.Arrays;

/**
 * One training example after tokenization: the token ids and, per token, whether the token is a
 * target (1: a completion token the loss is computed on) or context (0).
 */
public record TokenizedExample(long exampleId, int[] inputIds, byte[] lossMask) implements java.io.Serializable {

    public TokenizedExample {
        if (inputIds.length != lossMask.length) {
            throw new IllegalArgumentException(
                    "example " + exampleId + ": " + inputIds.length + " input ids but "
                            + lossMask.length + " loss-mask entries");
        }
    }

    public int length() {
        return inputIds.length;
    }

    /** Number of positions whose next token is a target, i.e. that contribute to the loss. */
    public int targetCount() {
        return targetCount(lossMask);
    }

    /** Targets in a loss mask: the first token has no position before it to be predicted from. */
    public static int targetCount(byte[] lossMask) {
        int n = 0;
        for (int t = 1; t < lossMask.length; t++) {
            n += lossMask[t];
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenizedExample e
                && e.exampleId == exampleId
                && Arrays.equals(e.inputIds, inputIds)
                && Arrays.equals(e.lossMask, lossMask);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Long.hashCode(exampleId) + Arrays.hashCode(inputIds))
                + Arrays.hashCode(lossMask);
    }

    @Override
    public String toString() {
        return "TokenizedExample[id=" + exampleId + ", length=" + inputIds.length + "]";
    }
}
