package org.splitlora.datasets.source;

import java.io.BufferedReader;
import java.io.IOException;

/** Rows from a line-oriented file: one candidate record per non-blank line; an empty file is fatal. */
abstract class LineRowIterator extends RowIterator {

    private final int fileIndex;
    private final BufferedReader in;
    private long line;
    private long records;

    LineRowIterator(int fileIndex, BufferedReader in) {
        this.fileIndex = fileIndex;
        this.in = in;
    }

    /** Turns one non-blank line into a row. */
    protected abstract SourceRow parse(int fileIndex, long line, String text);

    @Override
    protected final SourceRow computeNext() {
        while (true) {
            String text;
            try {
                text = in.readLine();
            } catch (MalformedUtf8Exception e) {
                return SourceRow.fatal(fileIndex, e.line(), e.getMessage());
            } catch (IOException e) {
                return SourceRow.fatal(fileIndex, line + 1, "read failed: " + e.getMessage());
            }
            if (text == null) {
                if (records == 0 && line >= 0) {
                    line = -1; // report the empty file once
                    return SourceRow.fatal(fileIndex, 0, "empty file (no records)");
                }
                return null;
            }
            line++;
            if (!text.isBlank()) {
                records++;
                return parse(fileIndex, line, text);
            }
        }
    }
}
