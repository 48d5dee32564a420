package org.splitlora.model.weights;

import java.util.Arrays;

/** Where one tensor lies in a safetensors file. Offsets are relative to the data section. */
public record TensorInfo(String name, TensorDType dtype, long[] shape, long begin, long end) {

    public long elementCount() {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
