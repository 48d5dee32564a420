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
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splitlora.model.weights.SafetensorsFile;
import org.splitlora.model.weights.SafetensorsWriter;
import org.splitlora.model.weights.TensorDType;
import org.splitlora.split.ServerSegment;
import org.splitlora.train.AdamW;
import org.splitlora.util.Directories;

/**
 * A run's {@code checkpoint/} directory: {@code state.json} (rounds done, seed, data hash, the
 * resolved config, counters, client cuts) and {@code tensors.safetensors} (adapters and optimizer
 * moments, fp32).
 * Written to a temporary sibling and swapped in, so a kill leaves the previous checkpoint or the
 * new one, never a mix.
 */
public final class Checkpoint {

    public static final String DIR = "checkpoint";
    private static final int FORMAT_VERSION = 3;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private Checkpoint() {}

    /** What identifies the run a checkpoint belongs to. */
    public record Header(long seed, String dataContentHash, String configJson) {}

    public static void write(Path runDir, RunState s, Header h) {
        Path target = runDir.resolve(DIR);
        Path tmp = Directories.stagingFor(target);
        try {
            Files.createDirectories(tmp);
            Map<String, SafetensorsWriter.Tensor> t = new TreeMap<>();
            put(t, "global.", s.global());
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
            SafetensorsWriter.write(tmp.resolve("tensors.safetensors"), t, TensorDType.F32, Map.of("format", "splitlora-checkpoint"));
            Files.writeString(tmp.resolve("state.json"), GSON.toJson(state), StandardCharsets.UTF_8);
            Directories.replace(tmp, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint in " + runDir + ": " + e.getMessage(), e);
        }
    }

    /** Reads the checkpoint of {@code runDir}; {@code header} says what the run must match. */
    public static RunState read(Path runDir, Header expected) {
        Path dir = runDir.resolve(DIR);
        Path stateFile = dir.resolve("state.json");
        if (!Files.isRegularFile(stateFile)) {
            throw new IllegalArgumentException(runDir + ": no checkpoint to resume from (" + stateFile + " is missing)");
        }
        JsonObject state;
        try {
            state = JsonParser.parseString(Files.readString(stateFile, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
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
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("tensors.safetensors"))) {
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
            return new RunState(state.get("completed_rounds").getAsInt(), global, server, clients, batches, central, cuts);
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
