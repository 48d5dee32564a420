package org.splitlora.datasets.source;

import java.io.BufferedReader;
import java.util.Iterator;

/** Plain text: every non-blank line is one language-modelling example. */
final class TextLineReader implements RecordReader {

    @Override
    public Iterator<SourceRow> read(int fileIndex, BufferedReader in) {
        return new LineRowIterator(fileIndex, in) {
            @Override
            protected SourceRow parse(int file, long line, String text) {
                return SourceRow.of(file, line, RawExample.text(text, null));
            }
        };
    }
}
