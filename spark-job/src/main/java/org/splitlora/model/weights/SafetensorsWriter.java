package org.splitlora.model.weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files: a little-endian u64 header length, the JSON header (tensors in
 * name order, {@code __metadata__} string map), padded to 8 bytes, then the data in the same
 * order. F32, F16 or BF16 (both rounded to nearest even from fp32, as PyTorch's
 * {@code .half()} / {@code .bfloat16()}).
 *
 * <p>{@link #writeStreamed} takes each tensor as a shape and a producer of its values: the header
 * comes from the shapes alone, and each tensor's values pass through a small buffer on their way
 * to the file, so a file larger than the Java heap can be written.
 */
public final class SafetensorsWriter {

    /** Values converted per write to the stream. */
    private static final int BUFFER_VALUES = 1 << 16;

    private SafetensorsWriter() {}

    public record Tensor(long[] shape, float[] values) {
        public Tensor {
            long n = elements(shape);
            if (n != values.length) {
                throw new IllegalArgumentException("shape holds " + n + " values, got " + values.length);
            }
        }
    }

    /** Receives a tensor's values in row-major order, in as many pieces as the producer likes. */
    public interface Sink {
        void put(float[] values, int from, int count) throws IOException;
    }

    /** Produces a tensor's values into a sink: exactly as many as its shape holds. */
    @FunctionalInterface
    public interface Values {
        void writeTo(Sink sink) throws IOException;
    }

    /** A tensor to stream: its name, shape and values. */
    public record StreamedTensor(String name, long[] shape, Values values) {
        public long elements() {
            return SafetensorsWriter.elements(shape);
        }
    }

    public static void write(Path file, Map<String, Tensor> tensors, TensorDType dtype, Map<String, String> metadata)
            throws IOException {
        List<StreamedTensor> streamed = new ArrayList<>();
        tensors.forEach((name, t) -> streamed.add(
                new StreamedTensor(name, t.shape(), sink -> sink.put(t.values(), 0, t.values().length))));
        writeStreamed(file, streamed, dtype, metadata);
    }

    /**
     * Writes the tensors (stored in name order, whatever the list's order) one at a time; returns
     * the file's size in bytes. A producer that emits more or fewer values than its shape holds is
     * an {@link IllegalStateException}.
     */
    public static long writeStreamed(Path file, List<StreamedTensor> tensors, TensorDType dtype, Map<String, String> metadata)
            throws IOException {
        List<StreamedTensor> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparing(StreamedTensor::name));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).name().equals(sorted.get(i - 1).name())) {
                throw new IllegalArgumentException("tensor '" + sorted.get(i).name() + "' given twice");
            }
        }
        int width = dtype.bytes();
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        new TreeMap<>(metadata).forEach(meta::addProperty);
        header.add("__metadata__", meta);
        long offset = 0;
        for (StreamedTensor e : sorted) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", dtype.name());
            JsonArray shape = new JsonArray();
            for (long s : e.shape()) {
                shape.add(s);
            }
            t.add("shape", shape);
            JsonArray offs = new JsonArray();
            offs.add(offset);
            offset += e.elements() * width;
            offs.add(offset);
            t.add("data_offsets", offs);
            header.add(e.name(), t);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            byte[] len = new byte[8];
            putLong(len, padded);
            out.write(len);
            out.write(h);
            for (int i = h.length; i < padded; i++) {
                out.write(' ');
            }
            Encoder enc = new Encoder(out, dtype);
            for (StreamedTensor t : sorted) {
                enc.written = 0;
                t.values().writeTo(enc);
                if (enc.written != t.elements()) {
                    throw new IllegalStateException("tensor '" + t.name() + "' produced " + enc.written
                            + " values, its shape holds " + t.elements());
                }
            }
        }
        return 8L + padded + offset;
    }

    static long elements(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    private static void putLong(byte[] b, long v) {
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
    }

    /** Converts values to the file's dtype, little-endian, through one reused buffer. */
    private static final class Encoder implements Sink {

        private final OutputStream out;
        private final TensorDType dtype;
        private final byte[] buf;
        long written;

        Encoder(OutputStream out, TensorDType dtype) {
            this.out = out;
            this.dtype = dtype;
            this.buf = new byte[BUFFER_VALUES * dtype.bytes()];
        }

        @Override
        public void put(float[] values, int from, int count) throws IOException {
            if (from < 0 || count < 0 || from + count > values.length) {
                throw new IndexOutOfBoundsException("values [" + from + ", " + (from + count) + ") of " + values.length);
            }
            for (int start = from; start < from + count; start += BUFFER_VALUES) {
                int n = Math.min(BUFFER_VALUES, from + count - start);
                int p = 0;
                for (int i = start; i < start + n; i++) {
                    float v = values[i];
                    switch (dtype) {
                        case F32 -> {
                            int bits = Float.floatToRawIntBits(v);
                            buf[p++] = (byte) bits;
                            buf[p++] = (byte) (bits >>> 8);
                            buf[p++] = (byte) (bits >>> 16);
                            buf[p++] = (byte) (bits >>> 24);
                        }
                        case F16, BF16 -> {
                            short s = dtype == TensorDType.F16 ? HalfFloat.fromFloat(v) : HalfFloat.toBFloat16(v);
                            buf[p++] = (byte) s;
                            buf[p++] = (byte) (s >>> 8);
                        }
                    }
                }
                out.write(buf, 0, p);
            }
            written += count;
        }
    }
}
