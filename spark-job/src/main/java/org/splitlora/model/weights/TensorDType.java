package org.splitlora.model.weights;

/** Safetensors element types we can turn into fp32. */
public enum TensorDType {
    F32(4),
    F16(2),
    BF16(2);

    private final int bytes;

    TensorDType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public static TensorDType parse(String s, String where) {
        return switch (s) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> throw new ModelLoadException(where + ": unsupported dtype " + s + " (supported: F32, F16, BF16)");
        };
    }
}
