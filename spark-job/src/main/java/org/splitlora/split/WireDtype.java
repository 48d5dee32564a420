package org.splitlora.split;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.splitlora.datasets.EnumOption;
import org.splitlora.model.weights.HalfFloat;

/**
 * How activations and their gradients travel: fp32 as is, or fp16 / bf16 rounded to nearest even
 * in Java (DJL aborts the JVM on bf16 arrays, DJL-NOTES trap 4). Little-endian, as safetensors.
 */
public enum WireDtype {
    FP32(4),
    FP16(2),
    BF16(2);

    private final int bytes;

    WireDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytesPerValue() {
        return bytes;
    }

    public static WireDtype parse(String text) {
        return EnumOption.parse(WireDtype.class, text, "wire dtype");
    }

    public byte[] encode(float[] values) {
        ByteBuffer out = ByteBuffer.allocate(values.length * bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (this) {
            case FP32 -> out.asFloatBuffer().put(values);
            case FP16 -> {
                for (float v : values) {
                    out.putShort(HalfFloat.fromFloat(v));
                }
            }
            case BF16 -> {
                for (float v : values) {
                    out.putShort(HalfFloat.toBFloat16(v));
                }
            }
        }
        return out.array();
    }

    /** Decodes {@code data}, which must hold exactly {@code count} values of this type. */
    public float[] decode(byte[] data, int count) {
        if ((long) count * bytes != data.length) {
            throw new IllegalArgumentException("payload of " + data.length + " bytes does not hold " + count
                    + " " + EnumOption.key(this) + " values");
        }
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[count];
        switch (this) {
            case FP32 -> in.asFloatBuffer().get(out);
            case FP16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloat.toFloat(in.getShort());
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloat.fromBFloat16(in.getShort());
                }
            }
        }
        return out;
    }
}
