package org.splitlora.datasets.source;

import java.io.Serializable;

/**
 * What a reader made of one record of an input file: an example, or a problem at that line. A
 * fatal problem means the rest of the file could not be read (e.g. broken CSV quoting, a missing
 * column); a non-fatal one concerns this row only and may be skipped and counted.
 */
public record SourceRow(int fileIndex, long line, RawExample example, String problem, boolean fatal)
        implements Serializable {

    public static SourceRow of(int fileIndex, long line, RawExample example) {
        return new SourceRow(fileIndex, line, example, null, false);
    }

    public static SourceRow bad(int fileIndex, long line, String problem) {
        return new SourceRow(fileIndex, line, null, problem, false);
    }

    public static SourceRow fatal(int fileIndex, long line, String problem) {
        return new SourceRow(fileIndex, line, null, problem, true);
    }

    public boolean ok() {
        return example != null;
    }
}
