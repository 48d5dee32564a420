package org.splitlora.datasets.source;

import java.io.BufferedReader;
import java.util.Iterator;

/**
 * Parses one input file into rows, lazily, so a file never has to fit in memory. Line numbers
 * are 1-based physical lines of the (decompressed) file.
 */
public interface RecordReader {

    Iterator<SourceRow> read(int fileIndex, BufferedReader in);
}
