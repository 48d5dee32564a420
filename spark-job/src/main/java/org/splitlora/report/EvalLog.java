package org.splitlora.report;

import java.util.LinkedHashMap;
import java.util.Map;
import org.splitlora.store.RunStore;

/** Adds evaluations (a label and its numbers) to a run directory's {@code evals.jsonl}, which the report tabulates. */
public final class EvalLog {

    public static final String FILE = "evals.jsonl";

    private EvalLog() {
    }

    /** Appends one line; the file is replaced whole (no append on object stores; a kill never tears a line). */
    public static void append(RunStore run, String label, Map<String, Object> values) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("label", label);
        record.putAll(values);
        String before = run.readText(FILE).orElse("");
        if (!before.isEmpty() && !before.endsWith("\n")) {
            before += "\n";
        }
        run.writeText(FILE, before + StrictJson.GSON.toJson(record) + "\n");
    }
}
