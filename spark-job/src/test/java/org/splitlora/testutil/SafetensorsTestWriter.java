package org.splitlora.testutil;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** Writes safetensors files (F32 or F16 payloads) for loader tests. */
public final class SafetensorsTestWriter {

    private SafetensorsTestWriter() {}

    public record Tensor(long[] shape, float[] values) {}

    public static void write(Path file, Map<String, Tensor> tensors, String dtype) throws IOException {
        int width = dtype.equals("F32") ? 4 : 2;
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        header.add("__metadata__", meta);
        long offset = 0;
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", dtype);
            JsonArray shape = new JsonArray();
            for (long s : e.getValue().shape()) {
                shape.add(s);
            }
            t.add("shape", shape);
            JsonArray offs = new JsonArray();
            offs.add(offset);
            offset += (long) e.getValue().values().length * width;
            offs.add(offset);
            t.add("data_offsets", offs);
            header.add(e.getKey(), t);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(h);
            for (int i = h.length; i < padded; i++) {
                out.write(' ');
            }
            for (Tensor t : sorted.values()) {
                ByteBuffer b = ByteBuffer.allocate(t.values().length * width).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : t.values()) {
                    if (width == 4) {
                        b.putFloat(v);
                    } else {
                        b.putShort(org.splitlora.model.weights.HalfFloat.fromFloat(v));
                    }
                }
                out.write(b.array());
            }
        }
    }
}
