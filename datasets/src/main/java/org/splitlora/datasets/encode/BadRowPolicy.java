package org.splitlora.datasets.encode;

import org.splitlora.datasets.EnumOption;

/** What to do with a row that cannot be read (invalid JSON, a missing field, an empty value...). */
public enum BadRowPolicy {
    /** Stop with an error naming the first bad row's file and line. */
    FAIL,
    /** Drop the row, count it, and list the first ones in the manifest. */
    SKIP;

    public static BadRowPolicy parse(String s) {
        return EnumOption.parse(BadRowPolicy.class, s, "bad-row policy");
    }
}
