package org.splitlora.model.config;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.splitlora.model.arch.Architectures;
import org.splitlora.model.arch.HfConfigJson;
import org.splitlora.model.weights.ModelLoadException;

/** Reads a Hugging Face {@code config.json} into a {@link ModelConfig}, by its model_type's architecture. */
public final class HfConfigReader {

    private HfConfigReader() {}

    public static ModelConfig read(Path configJson) {
        String text;
        try {
            text = Files.readString(configJson, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(configJson + ": config.json not found");
        } catch (IOException e) {
            throw new ModelLoadException(configJson + ": cannot read: " + e.getMessage(), e);
        }
        JsonObject o;
        try {
            o = JsonParser.parseString(text).getAsJsonObject();
        } catch (JsonSyntaxException | IllegalStateException e) {
            throw new ModelLoadException(configJson + ": not a JSON object: " + e.getMessage(), e);
        }
        try {
            return Architectures.parse(new HfConfigJson(o));
        } catch (IllegalArgumentException | NullPointerException | ClassCastException | UnsupportedOperationException e) {
            throw new ModelLoadException(configJson + ": " + e.getMessage(), e);
        }
    }
}
