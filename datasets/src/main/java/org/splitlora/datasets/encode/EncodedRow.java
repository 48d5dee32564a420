package org.splitlora.datasets.encode;

import java.io.Serializable;
import org.splitlora.datasets.TokenizedExample;

/**
 * One tokenized example, or the problem that kept a source row from becoming one, with the file
 * and line it came from. {@code fatal} problems stop {@code prepare}; the others are counted.
 */
public record EncodedRow(
        long exampleId, int fileIndex, long line, int[] inputIds, byte[] lossMask, String label,
        boolean truncated, String problem, boolean fatal) implements Serializable {

    public static EncodedRow problem(long exampleId, int fileIndex, long line, String problem, boolean fatal) {
        return new EncodedRow(exampleId, fileIndex, line, null, null, null, false, problem, fatal);
    }

    public boolean ok() {
        return problem == null;
    }

    public int length() {
        return inputIds.length;
    }

    /** Positions whose next token is a target (what the loss sums over). */
    public int targetCount() {
        return TokenizedExample.targetCount(lossMask);
    }

    public EncodedRow withId(long id) {
        return new EncodedRow(id, fileIndex, line, inputIds, lossMask, label, truncated, problem, fatal);
    }
}
