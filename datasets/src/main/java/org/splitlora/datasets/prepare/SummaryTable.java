package org.splitlora.datasets.prepare;

import java.util.Comparator;
import java.util.Map;

/** The short table {@code prepare} prints: clients × examples × mean length, held-out splits, rejects. */
public final class SummaryTable {

    private SummaryTable() {}

    public static String render(Manifest m) {
        StringBuilder sb = new StringBuilder();
        boolean labels = m.clients.stream().anyMatch(c -> c.labelCounts != null);
        sb.append(String.format("%-10s %10s %10s %12s%s%n", "client", "examples", "mean len", "target tok",
                labels ? "  top label" : ""));
        for (Manifest.ClientStats c : m.clients) {
            sb.append(String.format("%-10d %10d %10.1f %12d%s%n", c.clientId, c.examples, c.meanLength, c.targetTokens,
                    labels ? "  " + topLabel(c) : ""));
        }
        m.splits.forEach((name, s) -> sb.append(String.format("%-10s %10d %10.1f%n", name, s.examples, s.meanLength)));
        Manifest.SourceCounts train = m.sources.get("train");
        sb.append(String.format("partition %s over %d clients (seed %d%s), %d draw%s; rejected %d, truncated %d%n",
                m.partition.method, m.partition.clients, m.seed,
                m.partition.alpha == null ? "" : ", alpha " + m.partition.alpha,
                m.partition.draws, m.partition.draws == 1 ? "" : "s",
                m.rejects.total, m.sources.values().stream().mapToLong(s -> s.truncated).sum()));
        if (train.droppedTailTokens > 0) {
            sb.append(String.format("packing dropped %d tail tokens%n", train.droppedTailTokens));
        }
        m.rejects.byReason.forEach((reason, n) -> sb.append(String.format("  rejected %6d × %s%n", n, reason)));
        return sb.toString();
    }

    private static String topLabel(Manifest.ClientStats c) {
        return c.labelCounts.entrySet().stream()
                .max(Comparator.comparingLong(Map.Entry<String, Long>::getValue))
                .map(e -> String.format("%s (%.0f%%)", e.getKey(), 100.0 * e.getValue() / Math.max(1, c.examples)))
                .orElse("-");
    }
}
