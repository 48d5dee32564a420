package org.splitlora.datasets.source;

import org.splitlora.datasets.EnumOption;

/** The raw data formats {@code prepare} reads. */
public enum SourceFormat {
    /** E2E NLG CSV: columns {@code mr} (meaning representation) and {@code ref} (reference text). */
    E2E,
    /** One JSON object per line: prompt/completion, Alpaca, chat messages, or text. */
    JSONL,
    /** Plain text for language modelling: one example per line, or packed into fixed-length blocks. */
    TEXT;

    public static SourceFormat parse(String s) {
        return EnumOption.parse(SourceFormat.class, s, "format");
    }
}
