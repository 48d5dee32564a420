package org.splitlora.datasets.tokenize;

/**
 * Token ids of a text with where each token lies in it: {@code [starts[i], ends[i])} in UTF-16
 * indices of the Java string, so spans of the text map to tokens.
 */
public record TokenSpans(int[] ids, int[] starts, int[] ends) {

    public TokenSpans {
        if (ids.length != starts.length || ids.length != ends.length) {
            throw new IllegalArgumentException("ids, starts and ends differ in length");
        }
    }
}
