package org.splitlora.datasets.prepare;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import org.splitlora.datasets.encode.EncodedRow;

/**
 * What one pass over encoded rows tells the driver: counts, rejects by reason, the first rejects
 * and the first fatal problem by position, and the per-example stats the partitioner needs.
 * Built per Spark partition, then merged, so the driver reads the data once.
 */
final class RowSummary implements Serializable {

    /** Per example facts the driver partitions and summarises by. */
    record Stat(long id, int length, int targets, String label) implements Serializable {}

    long records;
    long rejected;
    long truncated;
    final TreeMap<String, Long> byReason = new TreeMap<>();
    final List<EncodedRow> firstRejects = new ArrayList<>();
    EncodedRow firstFatal;
    final List<Stat> stats = new ArrayList<>();

    static RowSummary of(Iterator<EncodedRow> rows) {
        RowSummary s = new RowSummary();
        while (rows.hasNext()) {
            EncodedRow r = rows.next();
            s.records++;
            if (r.ok()) {
                s.truncated += r.truncated() ? 1 : 0;
                s.stats.add(new Stat(r.exampleId(), r.length(), r.targetCount(), r.label()));
                continue;
            }
            if (r.fatal()) {
                s.firstFatal = first(s.firstFatal, r);
                continue;
            }
            s.rejected++;
            s.byReason.merge(category(r.problem()), 1L, Long::sum);
            s.firstRejects.add(stripped(r));
            if (s.firstRejects.size() > 2 * DatasetPreparer.LISTED_REJECTS) {
                s.trimRejects();
            }
        }
        s.trimRejects();
        return s;
    }

    RowSummary merge(RowSummary o) {
        records += o.records;
        rejected += o.rejected;
        truncated += o.truncated;
        o.byReason.forEach((k, v) -> byReason.merge(k, v, Long::sum));
        firstRejects.addAll(o.firstRejects);
        trimRejects();
        if (o.firstFatal != null) {
            firstFatal = first(firstFatal, o.firstFatal);
        }
        stats.addAll(o.stats);
        return this;
    }

    /** The stats sorted by example id, the order the partitioner's seed is applied in. */
    List<Stat> sortedStats() {
        stats.sort((a, b) -> Long.compare(a.id(), b.id()));
        return stats;
    }

    private void trimRejects() {
        firstRejects.sort(SourceEncoding.BY_POSITION);
        while (firstRejects.size() > DatasetPreparer.LISTED_REJECTS) {
            firstRejects.remove(firstRejects.size() - 1);
        }
    }

    private static EncodedRow first(EncodedRow a, EncodedRow b) {
        return a == null || SourceEncoding.BY_POSITION.compare(b, a) < 0 ? b : a;
    }

    private static EncodedRow stripped(EncodedRow r) {
        return EncodedRow.problem(r.exampleId(), r.fileIndex(), r.line(), r.problem(), r.fatal());
    }

    /** A reject's reason without its particulars, for counting: the text before ':', digits as N. */
    static String category(String problem) {
        int colon = problem.indexOf(": ");
        String head = colon > 0 ? problem.substring(0, colon) : problem;
        return head.replaceAll("\\d+", "N");
    }
}
