package org.splitlora.eval.metrics;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * Reference groups and hypotheses read from the files the E2E scorer takes.
 *
 * <p>References: the e2e-metrics text format (one reference a line, groups separated by one empty
 * line; a file without any empty line is single-reference, one group a line) or an E2E CSV with
 * columns {@code mr,ref} (rows grouped by MR, in order of first appearance). Hypotheses: one a
 * line (empty lines are empty outputs), or a CSV with columns {@code mr,output}, matched to the
 * reference groups by MR. Lines are stripped at their ends only, as the official scorer does.
 */
public record ScoringInput(List<List<String>> references, List<String> hypotheses) {

    public static ScoringInput read(Path refsFile, Path hypsFile) {
        Map<String, List<String>> byMr = isCsv(refsFile) ? e2eReferences(refsFile) : null;
        List<List<String>> refs = byMr != null ? new ArrayList<>(byMr.values()) : refsFromText(refsFile);
        List<String> hyps;
        if (isCsv(hypsFile)) {
            if (byMr == null) {
                throw new IllegalArgumentException(hypsFile + ": a CSV of outputs is matched to references by MR,"
                        + " so the references must be an E2E CSV (mr,ref) too");
            }
            hyps = hypsFromCsv(hypsFile, byMr);
        } else {
            hyps = lines(hypsFile);
        }
        if (hyps.size() != refs.size()) {
            throw new IllegalArgumentException(hypsFile + " has " + hyps.size() + " outputs but " + refsFile + " has "
                    + refs.size() + " reference groups; there must be one output per group");
        }
        return new ScoringInput(refs, hyps);
    }

    private static boolean isCsv(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
    }

    static List<List<String>> refsFromText(Path file) {
        List<String> lines = lines(file);
        List<List<String>> groups = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isEmpty()) {
                if (current.isEmpty()) {
                    throw new IllegalArgumentException(file + " line " + (i + 1) + ": empty reference group"
                            + " (groups are separated by exactly one empty line)");
                }
                groups.add(current);
                current = new ArrayList<>();
            } else {
                current.add(line);
            }
        }
        if (!current.isEmpty()) {
            groups.add(current);
        }
        if (groups.size() == 1) {
            // as in measure_scores.py: no separator at all means one reference per instance
            return groups.get(0).stream().map(List::of).toList();
        }
        return groups;
    }

    /** An E2E CSV's references grouped by MR, in order of first appearance. */
    public static Map<String, List<String>> e2eReferences(Path file) {
        Map<String, List<String>> byMr = new LinkedHashMap<>();
        for (CSVRecord row : csv(file, "ref")) {
            byMr.computeIfAbsent(row.get("mr").strip(), k -> new ArrayList<>()).add(row.get("ref").strip());
        }
        if (byMr.isEmpty()) {
            throw new IllegalArgumentException(file + ": no reference rows");
        }
        return byMr;
    }

    private static List<String> hypsFromCsv(Path file, Map<String, List<String>> refsByMr) {
        Map<String, String> byMr = new LinkedHashMap<>();
        for (CSVRecord row : csv(file, "output")) {
            String mr = row.get("mr").strip();
            if (!refsByMr.containsKey(mr)) {
                throw new IllegalArgumentException(file + " row " + row.getRecordNumber() + ": MR has no references: " + mr);
            }
            if (byMr.put(mr, row.get("output").strip()) != null) {
                throw new IllegalArgumentException(file + " row " + row.getRecordNumber() + ": second output for MR " + mr);
            }
        }
        List<String> hyps = new ArrayList<>();
        for (String mr : refsByMr.keySet()) {
            String h = byMr.get(mr);
            if (h == null) {
                throw new IllegalArgumentException(file + ": no output for MR " + mr);
            }
            hyps.add(h);
        }
        return hyps;
    }

    private static List<CSVRecord> csv(Path file, String textColumn) {
        CSVFormat format = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8); CSVParser p = CSVParser.parse(r, format)) {
            for (String col : List.of("mr", textColumn)) {
                if (!p.getHeaderMap().containsKey(col)) {
                    throw new IllegalArgumentException(file + ": no '" + col + "' column in header " + p.getHeaderNames());
                }
            }
            return p.getRecords();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        } catch (IllegalStateException | UncheckedIOException e) {
            throw new IllegalArgumentException(file + ": not a valid CSV: " + e.getMessage(), e);
        }
    }

    private static List<String> lines(Path file) {
        try {
            List<String> lines = new ArrayList<>();
            for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                lines.add(l.strip());
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
