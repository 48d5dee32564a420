package org.splitlora.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ObjIntConsumer;
import org.splitlora.store.RunStore;

/**
 * What a report shows of one run directory, read back from its files: {@code run.json} (mode,
 * model, seed, data hash), the per-round objects of {@code metrics.jsonl}, the evaluations in
 * {@code evals.jsonl} and the demo's before/after {@code summary.json}.
 */
public record RunRecords(String location, String name, String mode, String model, long seed, String dataHash, int plannedRounds,
                         List<Round> rounds, List<Evaluation> evaluations, Map<String, String> probe) {

    /**
     * One round as {@link RoundMetrics} wrote it; {@code valLoss} is NaN when the round was not
     * evaluated; {@code seconds} is its wall time, {@code trainSeconds} that without evaluation.
     */
    public record Round(int round, double trainLoss, double valLoss, double seconds, double trainSeconds, long splitBytes,
                        long adapterBytes,
                        Map<Integer, Double> clientSecondsPerStep, Map<Integer, Integer> cuts) {

        public double megabytes() {
            return (splitBytes + adapterBytes) / 1e6;
        }
    }

    /** One line of {@code evals.jsonl}: a label and its numbers (loss, ppl, BLEU, ... as present). */
    public record Evaluation(String label, Map<String, Object> values) {}

    public static RunRecords read(RunStore dir) {
        String runJson = dir.path("run.json").toString();
        JsonObject run = object(runJson, dir.readText("run.json")
                .orElseThrow(() -> new IllegalArgumentException(dir + ": not a run directory (no run.json)")), 0);
        JsonObject config = run.has("config") ? run.getAsJsonObject("config") : new JsonObject();
        JsonObject data = run.has("data") ? run.getAsJsonObject("data") : new JsonObject();
        return new RunRecords(dir.location(), dir.name(),
                text(run, "mode"), text(config, "model"), run.has("seed") ? run.get("seed").getAsLong() : 0,
                text(data, "content_hash"), run.has("rounds") ? run.get("rounds").getAsInt() : 0,
                rounds(dir, MetricsJsonl.FILE), evaluations(dir, EvalLog.FILE), probe(dir, "summary.json"));
    }

    /** The last evaluated round's validation loss (NaN if none). */
    public double finalValLoss() {
        for (int i = rounds.size() - 1; i >= 0; i--) {
            if (!Double.isNaN(rounds.get(i).valLoss())) {
                return rounds.get(i).valLoss();
            }
        }
        return Double.NaN;
    }

    /** A SplitFT run, whose clients' cuts move (split modes record their fixed cuts too). */
    public boolean hasMovingCuts() {
        return mode.equals("splitft") && rounds.stream().anyMatch(r -> !r.cuts().isEmpty());
    }

    private static List<Round> rounds(RunStore dir, String name) {
        String file = dir.path(name).toString();
        List<Round> out = new ArrayList<>();
        forEachLine(dir, name, (o, line) -> {
            if (!o.has("round")) {
                return; // step and eval events of single-process training
            }
            try {
                Map<Integer, Double> perStep = new TreeMap<>();
                if (o.has("per_client")) {
                    for (JsonElement e : o.getAsJsonArray("per_client")) {
                        JsonObject c = e.getAsJsonObject();
                        int steps = c.get("steps").getAsInt();
                        if (steps > 0) {
                            perStep.put(c.get("client").getAsInt(), c.get("seconds").getAsDouble() / steps);
                        }
                    }
                }
                Map<Integer, Integer> cuts = new TreeMap<>();
                if (o.has("cuts")) {
                    o.getAsJsonObject("cuts").entrySet().forEach(e -> cuts.put(Integer.parseInt(e.getKey()), e.getValue().getAsInt()));
                }
                out.add(new Round(o.get("round").getAsInt(), number(o, "train_loss"), number(o, "val_loss"), number(o, "seconds"),
                        o.has("train_seconds") ? number(o, "train_seconds") : number(o, "seconds"),
                        whole(o, "bytes_up") + whole(o, "bytes_down"), whole(o, "lora_bytes_up") + whole(o, "lora_bytes_down"),
                        perStep, cuts));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + ":" + line + ": not a round record: " + e.getMessage(), e);
            }
        });
        return out;
    }

    private static List<Evaluation> evaluations(RunStore dir, String name) {
        String file = dir.path(name).toString();
        List<Evaluation> out = new ArrayList<>();
        forEachLine(dir, name, (o, line) -> {
            if (!o.has("label")) {
                throw new IllegalArgumentException(file + ":" + line + ": an evaluation needs a \"label\"");
            }
            Map<String, Object> values = new LinkedHashMap<>();
            o.entrySet().forEach(e -> {
                if (!e.getKey().equals("label") && e.getValue().isJsonPrimitive()) {
                    var p = e.getValue().getAsJsonPrimitive();
                    values.put(e.getKey(), p.isNumber() ? (Object) p.getAsDouble() : p.getAsString());
                }
            });
            out.add(new Evaluation(o.get("label").getAsString(), values));
        });
        return out;
    }

    /** Each non-blank line of a JSON-lines file (none if it is absent) as an object, with its 1-based line number. */
    private static void forEachLine(RunStore dir, String name, ObjIntConsumer<JsonObject> each) {
        String[] lines = dir.readText(name).orElse("").split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                each.accept(object(dir.path(name).toString(), lines[i], i + 1), i + 1);
            }
        }
    }

    private static Map<String, String> probe(RunStore dir, String name) {
        Map<String, String> out = new LinkedHashMap<>();
        String summary = dir.readText(name).orElse(null);
        if (summary != null) {
            JsonObject o = object(dir.path(name).toString(), summary, 0);
            for (String key : List.of("probe_mr", "generation_before", "generation_after")) {
                if (o.has(key)) {
                    out.put(key, o.get(key).getAsString());
                }
            }
        }
        return out;
    }

    private static JsonObject object(String file, String text, int line) {
        try {
            return JsonParser.parseString(text).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(file + (line > 0 ? ":" + line : "") + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    private static String text(JsonObject o, String key) {
        return o.has(key) && o.get(key).isJsonPrimitive() ? o.get(key).getAsString() : "";
    }

    private static double number(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsDouble() : Double.NaN;
    }

    private static long whole(JsonObject o, String key) {
        return o.has(key) ? o.get(key).getAsLong() : 0;
    }
}
