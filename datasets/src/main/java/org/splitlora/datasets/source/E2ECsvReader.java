package org.splitlora.datasets.source;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.splitlora.datasets.format.PromptCompletionFormat;

/**
 * The E2E NLG CSV ({@code mr,ref} with a header; RFC 4180 quoting, fields may span lines). The
 * prompt is the meaning representation in the LoRA recipe's layout ({@code name : X | eatType :
 * pub}), the completion the reference; the label, if asked for, is one attribute's value.
 */
final class E2ECsvReader implements RecordReader {

    static final String MR = "mr";
    static final String REF = "ref";

    private final String labelAttribute;

    E2ECsvReader(String labelAttribute) {
        this.labelAttribute = labelAttribute;
    }

    @Override
    public Iterator<SourceRow> read(int fileIndex, BufferedReader in) {
        CSVParser parser;
        try {
            parser = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get().parse(in);
        } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            return List.of(readFailure(fileIndex, 1, "cannot read the CSV header", e)).iterator();
        }
        List<String> header = parser.getHeaderNames();
        if (header.isEmpty()) {
            return List.of(SourceRow.fatal(fileIndex, 0, "empty file (no header)")).iterator();
        }
        for (String column : new String[] {MR, REF}) {
            if (!header.contains(column)) {
                return List.of(SourceRow.fatal(fileIndex, 1,
                        "missing column '" + column + "' (header: " + String.join(",", header) + ")")).iterator();
            }
        }
        Iterator<CSVRecord> records = parser.iterator();
        return new RowIterator() {
            private long count;

            @Override
            protected SourceRow computeNext() {
                long line = parser.getCurrentLineNumber() + 1;
                CSVRecord r;
                try {
                    if (!records.hasNext()) {
                        return count == 0 ? SourceRow.fatal(fileIndex, 1, "no data rows (only a header)") : null;
                    }
                    r = records.next();
                } catch (UncheckedIOException | IllegalStateException e) {
                    return readFailure(fileIndex, line, "malformed CSV", e);
                }
                count++;
                if (!r.isSet(MR) || !r.isSet(REF)) {
                    return SourceRow.bad(fileIndex, line,
                            "expected " + header.size() + " fields, found " + r.size());
                }
                String mr = r.get(MR).strip();
                String ref = r.get(REF).strip();
                if (mr.isEmpty() || ref.isEmpty()) {
                    return SourceRow.bad(fileIndex, line, "empty '" + (mr.isEmpty() ? MR : REF) + "'");
                }
                String label = labelAttribute == null
                        ? null
                        : PromptCompletionFormat.e2eAttributes(mr).get(labelAttribute);
                return SourceRow.of(fileIndex, line,
                        new RawExample(PromptCompletionFormat.e2eContext(mr), ref, label));
            }
        };
    }

    /** A fatal row: at the bad byte's own line for invalid UTF-8 (the parser reads ahead), else at {@code line}. */
    private static SourceRow readFailure(int fileIndex, long line, String what, Exception e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof MalformedUtf8Exception bad
                ? SourceRow.fatal(fileIndex, bad.line(), bad.getMessage())
                : SourceRow.fatal(fileIndex, line, what + ": " + t.getMessage());
    }
}
