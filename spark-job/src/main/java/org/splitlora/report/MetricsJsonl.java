package org.splitlora.report;

import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.store.RunStore;
import org.splitlora.util.KillPoint;

/**
 * A run's {@code metrics.jsonl}: one JSON object per round (see {@link RoundMetrics}), strict JSON
 * (a non-finite number is written as null). The file is replaced whole with every record, not
 * appended to, so a kill never leaves a torn line and it works on filesystems without append
 * (object stores); it holds one line per round, so the rewrite is small.
 */
public final class MetricsJsonl {

    public static final String FILE = "metrics.jsonl";
    private static final Logger LOG = LoggerFactory.getLogger(MetricsJsonl.class);
    private final RunStore run;
    private final List<String> lines;

    /** Continues the file of {@code run} after round {@code keepRounds} (0: starts it afresh); later rounds' lines go. */
    public MetricsJsonl(RunStore run, int keepRounds) {
        this.run = run;
        this.lines = kept(run, keepRounds);
        run.writeText(FILE, text());
    }

    /**
     * The lines of rounds up to {@code round}: the rest were written by rounds that run again. A
     * last line that is not JSON is a torn write (an older version appended) and is dropped; any
     * other bad line is an error naming the file and line.
     */
    private static List<String> kept(RunStore run, int round) {
        List<String> kept = new ArrayList<>();
        String[] all = run.readText(FILE).orElse("").split("\n");
        int last = all.length - 1;
        while (last >= 0 && all[last].isBlank()) {
            last--;
        }
        for (int i = 0; i <= last; i++) {
            if (all[i].isBlank()) {
                continue;
            }
            try {
                var o = JsonParser.parseString(all[i]).getAsJsonObject();
                if (!o.has("round") || o.get("round").getAsInt() <= round) {
                    kept.add(all[i]);
                }
            } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
                if (i < last) {
                    throw new IllegalArgumentException(run.path(FILE) + ":" + (i + 1) + ": not a JSON object: " + e.getMessage());
                }
                LOG.warn("{}:{}: dropped a torn last line (the run was killed while writing it)", run.path(FILE), i + 1);
            }
        }
        return kept;
    }

    public void write(Map<String, Object> record) {
        lines.add(StrictJson.GSON.toJson(record));
        run.writeText(FILE, text());
        KillPoint.reach("metrics.written");
    }

    private String text() {
        return lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
    }
}
