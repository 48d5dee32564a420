package org.splitlora.model.arch;

/**
 * Where one projection of a block (a {@link org.splitlora.model.lora.LoraTarget}) keeps its frozen
 * weight in an HF checkpoint: the module's weight, or rows {@code [offset, offset + out)} of a fused
 * module that stacks several projections (GPT-2's {@code c_attn} = [q | k | v]; Phi-3's
 * {@code qkv_proj} and {@code gate_up_proj} are the same in the LINEAR layout).
 *
 * @param module HF module path in the causal-LM model, as PEFT names it ({@code model.layers.3.self_attn.q_proj})
 * @param targetName the entry of PEFT's {@code target_modules} that selects this module in every layer
 * @param layout how the module stores its weight
 * @param fusedOut output width of the whole module (= out unless fused)
 * @param offset first output row of this projection in the module
 * @param out output width of this projection
 * @param in input width
 * @param bias whether the module has a bias (sliced like the weight)
 */
public record Projection(String module, String targetName, Layout layout, int fusedOut, int offset, int out, int in,
                         boolean bias) {

    public Projection {
        if (offset < 0 || offset + out > fusedOut) {
            throw new IllegalArgumentException(module + ": rows [" + offset + ", " + (offset + out) + ") outside " + fusedOut);
        }
    }

    /** A module of its own in torch.nn.Linear layout. */
    public static Projection linear(String module, String targetName, int out, int in, boolean bias) {
        return new Projection(module, targetName, Layout.LINEAR, out, 0, out, in, bias);
    }

    /** Whether the module holds other projections beside this one. */
    public boolean fused() {
        return fusedOut != out;
    }

    public String weightName() {
        return module + ".weight";
    }

    public String biasName() {
        return module + ".bias";
    }

    /** The shape of the module's weight tensor in the checkpoint. */
    public long[] storedShape() {
        return layout == Layout.LINEAR ? new long[] {fusedOut, in} : new long[] {in, fusedOut};
    }

    /** How a module stores its weight. */
    public enum Layout {
        /** torch.nn.Linear: [out, in]. */
        LINEAR,
        /** GPT-2's Conv1D: [in, out] (PEFT's fan_in_fan_out). */
        CONV1D
    }
}
