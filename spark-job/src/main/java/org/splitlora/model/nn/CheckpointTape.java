package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;

/**
 * Activation checkpointing for one training pass, block by block (as PyTorch's
 * {@code torch.utils.checkpoint} around each block): in the forward every block runs without
 * recording autograd and its temporaries are freed at once; only its input is kept, and its output
 * becomes a fresh leaf. In the backward the blocks are run again from the top, each with
 * recording, and the gradient arriving at its output leaf is propagated through it into its input
 * (and so into the leaves of the blocks before it and into the LoRA weights). Memory is then the
 * blocks' inputs plus one block's temporaries instead of every block's temporaries; the compute
 * is one more forward per block. Dropout masks are derived from (seed, layer, target), so the
 * recomputation draws the same ones and the gradients are those of the plain pass. Every block
 * of a training pass carries LoRA adapters, so its recomputed output always has a graph.
 */
public final class CheckpointTape {

    private record Entry(DecoderBlock block, NDArray input, ForwardContext ctx, NDArray output) {}

    private final List<Entry> entries = new ArrayList<>();

    /** Runs {@code block} on {@code h} without keeping its temporaries; returns its output as a leaf. */
    NDArray forward(DecoderBlock block, NDArray h, ForwardContext ctx) {
        NDArray out;
        try (Torch.GradScope ignored = Torch.gradMode(false)) {
            out = ctx.inScratch(block, h);
        }
        out.setRequiresGradient(true);
        entries.add(new Entry(block, h, ctx, out));
        return out;
    }

    /**
     * Propagates the gradients that the plain backward left on the block outputs down through the
     * recorded blocks, last first. Each block's recomputation lives in a scratch manager closed as
     * soon as its gradient has passed.
     */
    void backward() {
        try (Torch.GradScope ignored = Torch.gradMode(true)) {
            for (int i = entries.size() - 1; i >= 0; i--) {
                Entry e = entries.get(i);
                NDArray grad = e.output().getGradient();
                try (ForwardContext scratch = e.ctx().scratch()) {
                    grad.attach(scratch.manager());
                    e.input().tempAttach(scratch.manager());
                    NDArray y = e.block().forward(e.input(), scratch);
                    // the graph below the input (other blocks' leaves, concatenations) is kept: a
                    // later entry's input may share it
                    JniUtils.backward((PtNDArray) y, (PtNDArray) grad, true, false);
                }
            }
        }
        entries.clear();
    }
}
