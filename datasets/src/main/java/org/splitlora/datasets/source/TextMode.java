package org.splitlora.datasets.source;

import org.splitlora.datasets.EnumOption;

/** How plain text becomes examples. */
public enum TextMode {
    /** Every non-blank line is one example (truncated or rejected past the maximum length). */
    LINES,
    /**
     * Lines are tokenized, joined with EOS and cut into blocks of exactly the maximum length, as
     * Hugging Face's {@code run_clm} does; the tail shorter than a block is dropped and counted.
     */
    PACKED;

    public static TextMode parse(String s) {
        return EnumOption.parse(TextMode.class, s, "text mode");
    }
}
