package org.splitlora.model.weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files: a little-endian u64 header length, the JSON header (tensors in
 * name order, {@code __metadata__} string map), padded to 8 bytes, then the data. F32 or F16.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {}

    public record Tensor(long[] shape, float[] values) {
        public Tensor {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            if (n != values.length) {
                throw new IllegalArgumentException("shape holds " + n + " values, got " + values.length);
            }
        }
    }

    public static void write(Path file, Map<String, Tensor> tensors, TensorDType dtype, Map<String, String> metadata)
            throws IOException {
        if (dtype == TensorDType.BF16) {
            throw new IllegalArgumentException("writing BF16 is not supported");
        }
        int width = dtype.bytes();
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        new TreeMap<>(metadata).forEach(meta::addProperty);
        header.add("__metadata__", meta);
        long offset = 0;
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", dtype.name());
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
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
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
                        b.putShort(HalfFloat.fromFloat(v));
                    }
                }
                out.write(b.array());
            }
        }
    }
}
