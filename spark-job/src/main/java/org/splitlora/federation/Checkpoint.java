package org.splitlora.federation;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;
import org.splitlora.split.ServerSegment;
import org.splitlora.train.AdamW;
import org.splitlora.store.RunStore;
import org.splitlora.util.KillPoint;

/**
 * A run's checkpoints: {@code checkpoint/round-NNNN/} holds {@code state.json} (rounds done, seed,
 * data hash, the resolved config, counters, client cuts), {@code tensors.safetensors} (adapters
 * and optimizer moments, fp32) and, written last, {@code _COMPLETE} (the files' sizes).
 *
 * <p>A checkpoint is a new directory per round and counts only once its marker exists; then all
 * but the previous one are deleted (it stays, in case the newest is damaged later). No step renames or replaces a file, so this holds on object
 * stores as on local disk and HDFS: a kill leaves the previous checkpoint or the new one, never a
 * half-written one that looks complete, and {@link #read} takes the newest complete one.
 */
public final class Checkpoint {

    public static final String DIR = "checkpoint";
    static final String MARKER = "_COMPLETE";
    private static final String STATE = "state.json";
    private static final String TENSORS = "tensors.safetensors";
    private static final Pattern GENERATION = Pattern.compile("round-(\\d{4,})");
    private static final int FORMAT_VERSION = 4;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private Checkpoint() {}

    /** What identifies the run a checkpoint belongs to. */
    public record Header(long seed, String dataContentHash, String configJson) {}

    /** The directory (relative to the run) of the checkpoint after {@code completedRounds} rounds. */
    public static String directory(int completedRounds) {
        return DIR + "/" + String.format(Locale.ROOT, "round-%04d", completedRounds);
    }

    public static void write(RunStore run, RunState s, Header h) {
        String dir = directory(s.completedRounds());
        Map<String, SafetensorsWriter.Tensor> t = new TreeMap<>();
        put(t, "global.", s.global());
        put(t, "aggregator.", s.aggregator());
        JsonObject state = new JsonObject();
        state.addProperty("format_version", FORMAT_VERSION);
        state.addProperty("completed_rounds", s.completedRounds());
        state.addProperty("seed", h.seed());
        state.addProperty("data_content_hash", h.dataContentHash());
        state.add("config", JsonParser.parseString(h.configJson()));
        state.add("batches_done", GSON.toJsonTree(s.batchesDone()));
        state.add("cuts", GSON.toJsonTree(s.cuts()));
        if (s.server() != null) {
            JsonObject units = new JsonObject();
            for (Map.Entry<String, ServerSegment.UnitState> e : s.server().units().entrySet()) {
                String prefix = "server." + e.getKey() + ".";
                ServerSegment.UnitState u = e.getValue();
                put(t, prefix + "lora.", u.lora());
                JsonObject unit = new JsonObject();
                unit.addProperty("from_layer", u.fromLayer());
                unit.addProperty("to_layer", u.toLayer());
                unit.add("clients", GSON.toJsonTree(new TreeSet<>(u.clients())));
                unit.addProperty("optimizer_step", moments(t, prefix + "opt.", u.optimizer()));
                units.add(e.getKey(), unit);
            }
            state.add("server_units", units);
        }
        Map<String, Integer> clientSteps = new TreeMap<>();
        for (Map.Entry<Integer, AdamW.State> e : s.clientOptimizers().entrySet()) {
            clientSteps.put(String.valueOf(e.getKey()), moments(t, "client_opt." + e.getKey() + ".", e.getValue()));
        }
        state.add("client_optimizer_steps", GSON.toJsonTree(clientSteps));
        if (s.centralOptimizer() != null) {
            state.addProperty("central_optimizer_step", moments(t, "central_opt.", s.centralOptimizer()));
        }
        if (run.exists(dir)) {
            run.delete(dir); // an earlier attempt at this round that a kill cut short (it has no marker yet)
        }
        run.publishDirectory(dir, d -> {
            Files.createDirectories(d);
            SafetensorsWriter.write(d.resolve(TENSORS), t, TensorDType.F32, Map.of("format", "splitlora-checkpoint"));
            Files.writeString(d.resolve(STATE), GSON.toJson(state), StandardCharsets.UTF_8);
        });
        KillPoint.reach("checkpoint.before-marker");
        JsonObject sizes = new JsonObject();
        for (String f : List.of(STATE, TENSORS)) {
            sizes.addProperty(f, run.status(dir + "/" + f).getLen());
        }
        run.writeText(dir + "/" + MARKER, sizes.toString());
        KillPoint.reach("checkpoint.after-marker");
        for (int older : generations(run)) {
            if (older < s.completedRounds() - 1) { // the one before stays, should this one turn out damaged
                run.delete(directory(older));
            }
        }
    }

    /**
     * The rounds completed by the newest complete checkpoint, if any. Newer incomplete or damaged
     * ones (a kill while writing) are deleted: call it only while holding the run's lock.
     */
    public static OptionalInt latest(RunStore run) {
        for (int g : generations(run)) { // newest first
            if (complete(run, directory(g))) {
                return OptionalInt.of(g);
            }
            run.delete(directory(g));
        }
        return OptionalInt.empty();
    }

    /** Reads the newest complete checkpoint of {@code run} (null when there is none); {@code expected} says what it must match. */
    public static RunState read(RunStore run, Header expected) {
        OptionalInt latest = latest(run);
        if (latest.isEmpty()) {
            return null;
        }
        String dir = directory(latest.getAsInt());
        String stateFile = run.path(dir + "/" + STATE).toString();
        JsonObject state;
        try {
            state = JsonParser.parseString(run.readText(dir + "/" + STATE).orElseThrow()).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(stateFile + ": unreadable checkpoint: " + e.getMessage());
        }
        if (state.get("format_version").getAsInt() != FORMAT_VERSION) {
            throw new IllegalArgumentException(stateFile + ": checkpoint format " + state.get("format_version") + " is not supported");
        }
        if (state.get("seed").getAsLong() != expected.seed()) {
            throw new IllegalArgumentException(stateFile + ": checkpoint seed " + state.get("seed") + " differs from the run's " + expected.seed());
        }
        if (!state.get("data_content_hash").getAsString().equals(expected.dataContentHash())) {
            throw new IllegalArgumentException(stateFile + ": the data changed since the checkpoint (content hash "
                    + state.get("data_content_hash").getAsString() + ", now " + expected.dataContentHash() + ")");
        }
        Path local = run.localPath().map(p -> p.resolve(dir).resolve(TENSORS)).orElse(null);
        Path copy = null;
        try {
            if (local == null) {
                copy = Files.createTempFile("splitlora-checkpoint", ".safetensors");
                run.copyToLocal(dir + "/" + TENSORS, copy);
                local = copy;
            }
            try (SafetensorsFile st = SafetensorsFile.open(local)) {
                return state(state, st);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + run.path(dir) + ": " + e.getMessage(), e);
        } finally {
            if (copy != null) {
                copy.toFile().delete();
            }
        }
    }

    private static RunState state(JsonObject state, SafetensorsFile st) {
        Map<String, float[]> global = take(st, "global.");
        ServerSegment.Snapshot server = null;
        if (state.has("server_units")) {
            Map<String, ServerSegment.UnitState> units = new TreeMap<>();
            for (Map.Entry<String, JsonElement> e : state.getAsJsonObject("server_units").entrySet()) {
                JsonObject u = e.getValue().getAsJsonObject();
                String prefix = "server." + e.getKey() + ".";
                Set<Integer> served = new TreeSet<>();
                u.getAsJsonArray("clients").forEach(x -> served.add(x.getAsInt()));
                units.put(e.getKey(), new ServerSegment.UnitState(u.get("from_layer").getAsInt(), u.get("to_layer").getAsInt(),
                        served, take(st, prefix + "lora."), moments(st, prefix + "opt.", u.get("optimizer_step").getAsInt())));
            }
            server = new ServerSegment.Snapshot(units);
        }
        Map<Integer, AdamW.State> clients = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : state.getAsJsonObject("client_optimizer_steps").entrySet()) {
            clients.put(Integer.parseInt(e.getKey()), moments(st, "client_opt." + e.getKey() + ".", e.getValue().getAsInt()));
        }
        Map<Integer, Long> batches = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : state.getAsJsonObject("batches_done").entrySet()) {
            batches.put(Integer.parseInt(e.getKey()), e.getValue().getAsLong());
        }
        Map<Integer, Integer> cuts = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : state.getAsJsonObject("cuts").entrySet()) {
            cuts.put(Integer.parseInt(e.getKey()), e.getValue().getAsInt());
        }
        AdamW.State central = state.has("central_optimizer_step")
                ? moments(st, "central_opt.", state.get("central_optimizer_step").getAsInt()) : null;
        return new RunState(state.get("completed_rounds").getAsInt(), global, server, clients, batches, central, cuts,
                take(st, "aggregator."));
    }

    /** The checkpoint rounds present, newest first, complete or not. */
    private static List<Integer> generations(RunStore run) {
        List<Integer> out = new ArrayList<>();
        for (String name : run.list(DIR)) {
            Matcher m = GENERATION.matcher(name);
            if (m.matches()) {
                out.add(Integer.parseInt(m.group(1)));
            }
        }
        out.sort(java.util.Comparator.reverseOrder());
        return out;
    }

    /** Its marker exists and the files have the sizes it records. */
    private static boolean complete(RunStore run, String dir) {
        try {
            JsonObject sizes = run.readText(dir + "/" + MARKER).map(t -> JsonParser.parseString(t).getAsJsonObject()).orElse(null);
            if (sizes == null) {
                return false;
            }
            for (Map.Entry<String, JsonElement> e : sizes.entrySet()) {
                org.apache.hadoop.fs.FileStatus f = run.status(dir + "/" + e.getKey());
                if (f == null || f.getLen() != e.getValue().getAsLong()) {
                    return false;
                }
            }
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static void put(Map<String, SafetensorsWriter.Tensor> t, String prefix, Map<String, float[]> values) {
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            t.put(prefix + e.getKey(), new SafetensorsWriter.Tensor(new long[] {e.getValue().length}, e.getValue()));
        }
    }

    private static int moments(Map<String, SafetensorsWriter.Tensor> t, String prefix, AdamW.State s) {
        for (int i = 0; i < s.m().size(); i++) {
            t.put(prefix + "m." + String.format("%05d", i), new SafetensorsWriter.Tensor(new long[] {s.m().get(i).length}, s.m().get(i)));
            t.put(prefix + "v." + String.format("%05d", i), new SafetensorsWriter.Tensor(new long[] {s.v().get(i).length}, s.v().get(i)));
        }
        return s.step();
    }

    private static Map<String, float[]> take(SafetensorsFile st, String prefix) {
        Map<String, float[]> out = new TreeMap<>();
        for (String name : st.names()) {
            if (name.startsWith(prefix)) {
                out.put(name.substring(prefix.length()), st.floats(name));
            }
        }
        return out;
    }

    private static AdamW.State moments(SafetensorsFile st, String prefix, int step) {
        Map<String, float[]> m = take(st, prefix + "m.");
        Map<String, float[]> v = take(st, prefix + "v.");
        return new AdamW.State(step, new ArrayList<>(m.values()), new ArrayList<>(v.values()));
    }
}
