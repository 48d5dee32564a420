package org.splitlora.testutil;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** A deliberately separate, whole-file safetensors reader for reference computations in tests. */
public final class ReferenceSafetensors {

    private ReferenceSafetensors() {}

    public static Map<String, double[]> read(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) all.getLong(0);
        JsonObject header = JsonParser.parseString(new String(all.array(), 8, headerLen, StandardCharsets.UTF_8)).getAsJsonObject();
        Map<String, double[]> out = new HashMap<>();
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonObject t = e.getValue().getAsJsonObject();
            int begin = t.getAsJsonArray("data_offsets").get(0).getAsInt() + 8 + headerLen;
            int end = t.getAsJsonArray("data_offsets").get(1).getAsInt() + 8 + headerLen;
            String dtype = t.get("dtype").getAsString();
            int width = dtype.equals("F32") ? 4 : 2;
            double[] v = new double[(end - begin) / width];
            for (int i = 0; i < v.length; i++) {
                int at = begin + i * width;
                v[i] = switch (dtype) {
                    case "F32" -> all.getFloat(at);
                    case "BF16" -> Float.intBitsToFloat((all.getShort(at) & 0xFFFF) << 16);
                    default -> throw new IllegalArgumentException(dtype);
                };
            }
            out.put(e.getKey(), v);
        }
        return out;
    }
}
