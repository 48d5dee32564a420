package org.splitlora.model.weights;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped safetensors file. Each tensor is mapped on demand and converted to fp32 in Java
 * (DJL aborts on BF16 arrays, see DJL-NOTES), so no whole-file array is ever built.
 */
public final class SafetensorsFile implements WeightSource {

    /** Headers above this are not plausible and point at a corrupt file. */
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorInfo> tensors) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
    }

    public static SafetensorsFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(path + ": weight file not found");
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException | IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the parse error is the one worth reporting
            }
            if (e instanceof ModelLoadException m) {
                throw m;
            }
            throw new ModelLoadException(path + ": not a valid safetensors file: " + e.getMessage(), e);
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new ModelLoadException(path + ": truncated safetensors file (" + size + " bytes, no header)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
            throw new ModelLoadException(path + ": truncated or corrupt safetensors header (header length "
                    + headerLen + ", file size " + size + ")");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, 8);
        JsonObject header = JsonParser.parseString(new String(hb.array(), StandardCharsets.UTF_8)).getAsJsonObject();
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            String where = path + ": tensor '" + e.getKey() + "'";
            JsonObject t = e.getValue().getAsJsonObject();
            TensorDType dtype = TensorDType.parse(t.get("dtype").getAsString(), where);
            var shapeArr = t.getAsJsonArray("shape");
            long[] shape = new long[shapeArr.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeArr.get(i).getAsLong();
            }
            var offs = t.getAsJsonArray("data_offsets");
            long begin = offs.get(0).getAsLong();
            long end = offs.get(1).getAsLong();
            TensorInfo info = new TensorInfo(e.getKey(), dtype, shape, begin, end);
            if (begin < 0 || end < begin || (end - begin) != info.elementCount() * dtype.bytes()) {
                throw new ModelLoadException(where + ": data offsets [" + begin + ", " + end
                        + ") do not match dtype " + dtype + " and shape " + info.shapeString());
            }
            if (end > dataSize) {
                throw new ModelLoadException(where + ": data ends at byte " + (dataStart + end)
                        + " but the file has " + size + " bytes (truncated file?)");
            }
            tensors.put(e.getKey(), info);
        }
        return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors));
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new ModelLoadException(path + ": tensor '" + name + "' not found");
        }
        return t;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public long[] shape(String name) {
        return info(name).shape().clone();
    }

    @Override
    public float[] floats(String name) {
        TensorInfo t = info(name);
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelLoadException(path + ": tensor '" + name + "' has " + n + " elements, too many for one array");
        }
        float[] out = new float[(int) n];
        MappedByteBuffer map;
        try {
            map = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.end() - t.begin());
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot map tensor '" + name + "': " + e.getMessage(), e);
        }
        map.order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F32 -> map.asFloatBuffer().get(out);
            case BF16 -> {
                var s = map.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloat.fromBFloat16(s.get(i));
                }
            }
            case F16 -> {
                var s = map.asShortBuffer();
                for (int i = 0; i < out.length; i++) {
                    out[i] = HalfFloat.toFloat(s.get(i));
                }
            }
        }
        return out;
    }

    @Override
    public String origin() {
        return path.toString();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot close: " + e.getMessage(), e);
        }
    }
}
