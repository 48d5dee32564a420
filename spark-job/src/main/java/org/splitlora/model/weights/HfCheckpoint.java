package org.splitlora.model.weights;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights of an HF model directory: {@code model.safetensors}, or shards listed in
 * {@code model.safetensors.index.json}.
 */
public final class HfCheckpoint implements WeightSource {

    private final Path dir;
    private final Map<String, SafetensorsFile> owner;
    private final List<SafetensorsFile> files;

    private HfCheckpoint(Path dir, Map<String, SafetensorsFile> owner, List<SafetensorsFile> files) {
        this.dir = dir;
        this.owner = owner;
        this.files = files;
    }

    public static HfCheckpoint open(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
            for (String n : f.names()) {
                owner.put(n, f);
            }
            return new HfCheckpoint(dir, owner, List.of(f));
        }
        if (Files.isRegularFile(index)) {
            return openSharded(dir, index);
        }
        throw new ModelLoadException(dir + ": no model.safetensors or model.safetensors.index.json"
                + " (only safetensors weights are supported)");
    }

    private static HfCheckpoint openSharded(Path dir, Path index) {
        JsonObject weightMap;
        try {
            JsonObject root = JsonParser.parseString(Files.readString(index, StandardCharsets.UTF_8)).getAsJsonObject();
            weightMap = root.getAsJsonObject("weight_map");
            if (weightMap == null) {
                throw new ModelLoadException(index + ": no weight_map");
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ModelLoadException m) {
                throw m;
            }
            throw new ModelLoadException(index + ": cannot read shard index: " + e.getMessage(), e);
        }
        Map<String, SafetensorsFile> byFile = new LinkedHashMap<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
                String shard = e.getValue().getAsString();
                SafetensorsFile f = byFile.get(shard);
                if (f == null) {
                    f = SafetensorsFile.open(dir.resolve(shard));
                    byFile.put(shard, f);
                }
                if (!f.contains(e.getKey())) {
                    throw new ModelLoadException(index + ": tensor '" + e.getKey() + "' is mapped to "
                            + shard + " but that shard does not contain it");
                }
                owner.put(e.getKey(), f);
            }
        } catch (RuntimeException e) {
            byFile.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new HfCheckpoint(dir, owner, new ArrayList<>(byFile.values()));
    }

    private SafetensorsFile fileOf(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw new ModelLoadException(dir + ": tensor '" + name + "' not found in the checkpoint");
        }
        return f;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(owner.keySet());
    }

    @Override
    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        return fileOf(name).shape(name);
    }

    @Override
    public float[] floats(String name) {
        return fileOf(name).floats(name);
    }

    @Override
    public String origin() {
        return dir.toString();
    }

    @Override
    public String origin(String name) {
        return fileOf(name).origin();
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
