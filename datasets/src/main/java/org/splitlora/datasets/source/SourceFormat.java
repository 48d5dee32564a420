package org.splitlora.datasets.source;

import java.util.Locale;

/** The raw data formats {@code prepare} reads. */
public enum SourceFormat {
    /** E2E NLG CSV: columns {@code mr} (meaning representation) and {@code ref} (reference text). */
    E2E,
    /** One JSON object per line: prompt/completion, Alpaca, chat messages, or text. */
    JSONL,
    /** Plain text for language modelling: one example per line, or packed into fixed-length blocks. */
    TEXT;

    public static SourceFormat parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown format '" + s + "' (expected e2e, jsonl or text)");
        }
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
