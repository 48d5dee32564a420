package org.splitlora.ml;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.model.ModelSource;
import org.splitlora.model.peft.PeftAdapter;
import org.splitlora.store.RunStore;
import org.splitlora.util.Directories;

/**
 * What a fitted {@link SplitLoraModel} holds besides its Params: the base model, the trained
 * adapter as the run exported it (the PEFT files' bytes, so that a saved model holds exactly the
 * run's adapter), and where it came from (the run directory and its run.json: seed, data content
 * hash, the full resolved configuration, versions).
 *
 * <p>In a saved model directory: {@code adapter/} (the PEFT files) and {@code provenance.json}.
 */
record TrainedAdapter(String baseModel, byte[] adapterConfig, byte[] adapterWeights, String runDir, String runJson)
        implements Serializable {

    static final String ADAPTER = "adapter";
    static final String PROVENANCE = "provenance.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /** The final adapter of the run in {@code runDir} (its {@code adapter/}) and its run.json. */
    static TrainedAdapter fromRun(String runDir, String baseModel, Configuration hadoop) {
        RunStore run = RunStore.at(runDir, hadoop);
        String runJson = run.readText("run.json").orElseThrow(() -> new IllegalStateException(runDir + ": no run.json"));
        return new TrainedAdapter(baseModel, bytes(hadoop, run, ADAPTER + "/" + PeftAdapter.CONFIG),
                bytes(hadoop, run, ADAPTER + "/" + PeftAdapter.WEIGHTS), run.location(), runJson);
    }

    /** Reads what {@link #write} wrote into a saved model directory. */
    static TrainedAdapter read(String modelDir, Configuration hadoop) {
        RunStore dir = RunStore.at(modelDir, hadoop);
        JsonObject p = JsonParser.parseString(dir.readText(PROVENANCE).orElseThrow(() -> new IllegalArgumentException(
                modelDir + ": not a saved SplitLoraModel (no " + PROVENANCE + ")"))).getAsJsonObject();
        return new TrainedAdapter(p.get("base_model").getAsString(), bytes(hadoop, dir, ADAPTER + "/" + PeftAdapter.CONFIG),
                bytes(hadoop, dir, ADAPTER + "/" + PeftAdapter.WEIGHTS), p.get("run_dir").getAsString(), GSON.toJson(p.get("run")));
    }

    /** Writes {@code adapter/} and {@code provenance.json} into {@code modelDir} (any Hadoop filesystem). */
    void write(String modelDir, Configuration hadoop) {
        RunStore dir = RunStore.at(modelDir, hadoop);
        dir.publishDirectory(ADAPTER, d -> {
            Files.createDirectories(d);
            Files.write(d.resolve(PeftAdapter.CONFIG), adapterConfig);
            Files.write(d.resolve(PeftAdapter.WEIGHTS), adapterWeights);
        });
        JsonObject p = new JsonObject();
        p.addProperty("base_model", baseModel);
        p.addProperty("run_dir", runDir);
        p.add("run", run());
        dir.writeText(PROVENANCE, GSON.toJson(p));
    }

    /** The adapter as values for generation (read through a local copy: safetensors are memory-mapped). */
    AdapterWeights weights() {
        try {
            Path tmp = Files.createTempDirectory("splitlora-adapter");
            try {
                Files.write(tmp.resolve(PeftAdapter.CONFIG), adapterConfig);
                Files.write(tmp.resolve(PeftAdapter.WEIGHTS), adapterWeights);
                return AdapterWeights.read(tmp, ModelSource.of(baseModel).config());
            } finally {
                Directories.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage the adapter locally: " + e.getMessage(), e);
        }
    }

    JsonObject run() {
        return JsonParser.parseString(runJson).getAsJsonObject();
    }

    private static byte[] bytes(Configuration hadoop, RunStore dir, String relative) {
        org.apache.hadoop.fs.Path file = dir.path(relative);
        try {
            FileSystem fs = file.getFileSystem(hadoop);
            try (InputStream in = fs.open(file)) {
                return in.readAllBytes();
            }
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException(file + ": missing (a trained adapter has " + PeftAdapter.CONFIG + " and "
                    + PeftAdapter.WEIGHTS + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
