package org.splitlora.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/** Appends evaluations (a label and its numbers) to a run directory's {@code evals.jsonl}, which the report tabulates. */
public final class EvalLog {

    public static final String FILE = "evals.jsonl";
    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().create();

    private EvalLog() {
    }

    public static void append(Path runDir, String label, Map<String, Object> values) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("label", label);
        record.putAll(values);
        try {
            Files.createDirectories(runDir);
            Files.writeString(runDir.resolve(FILE), GSON.toJson(record) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + runDir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }
}
