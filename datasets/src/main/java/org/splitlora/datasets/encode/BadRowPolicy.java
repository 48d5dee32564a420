package org.splitlora.datasets.encode;

import java.util.Locale;

/** What to do with a row that cannot be read (invalid JSON, a missing field, an empty value...). */
public enum BadRowPolicy {
    /** Stop with an error naming the first bad row's file and line. */
    FAIL,
    /** Drop the row, count it, and list the first ones in the manifest. */
    SKIP;

    public static BadRowPolicy parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown bad-row policy '" + s + "' (expected fail or skip)");
        }
    }
}
