package org.splitlora.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/** Appends JSON objects (one per round, see {@link RoundMetrics}) to {@code metrics.jsonl}, flushed each line. */
public final class MetricsJsonl implements AutoCloseable {

    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().create();
    private final BufferedWriter out;

    public MetricsJsonl(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Keeps only the records of rounds up to {@code round} (what a resumed run continues after);
     * the rest were written by rounds that are run again.
     */
    public static void truncateAfterRound(Path file, int round) {
        if (!Files.exists(file)) {
            return;
        }
        try {
            java.util.List<String> kept = new java.util.ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                var o = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
                if (!o.has("round") || o.get("round").getAsInt() <= round) {
                    kept.add(line);
                }
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite " + file + ": " + e.getMessage(), e);
        }
    }

    public void write(Map<String, Object> record) {
        try {
            out.write(GSON.toJson(record));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
