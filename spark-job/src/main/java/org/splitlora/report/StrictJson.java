package org.splitlora.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;

/**
 * Gson for the JSON-lines files of a run: strict JSON that every parser reads, so a non-finite
 * number (a diverged loss, an unset measurement) is written as {@code null}, never as a bare
 * {@code NaN} or {@code Infinity}.
 */
final class StrictJson {

    static final Gson GSON = new GsonBuilder()
            .registerTypeAdapter(Double.class, new FiniteOrNull())
            .registerTypeAdapter(double.class, new FiniteOrNull())
            .registerTypeAdapter(Float.class, new FiniteOrNull())
            .registerTypeAdapter(float.class, new FiniteOrNull())
            .create();

    private StrictJson() {}

    private static final class FiniteOrNull extends TypeAdapter<Number> {
        @Override
        public void write(JsonWriter out, Number value) throws IOException {
            if (value == null || !Double.isFinite(value.doubleValue())) {
                out.nullValue();
            } else {
                out.value(value);
            }
        }

        @Override
        public Number read(JsonReader in) {
            throw new UnsupportedOperationException("write only");
        }
    }
}
