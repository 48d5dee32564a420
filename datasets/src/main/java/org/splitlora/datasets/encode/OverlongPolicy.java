package org.splitlora.datasets.encode;

import org.splitlora.datasets.EnumOption;

/** What to do with an example longer than the maximum length. */
public enum OverlongPolicy {
    /** Keep the first max-length tokens and count the row as truncated. */
    TRUNCATE,
    /** Drop the row and count it as a reject. */
    SKIP,
    /** Stop with an error naming the file and line. */
    FAIL;

    public static OverlongPolicy parse(String s) {
        return EnumOption.parse(OverlongPolicy.class, s, "overlong policy");
    }
}
