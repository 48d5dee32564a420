package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.splitlora.model.lora.LoraAdapters;

/**
 * Everything one forward pass needs beside the frozen weights: the manager that owns its
 * temporaries (closed after backward), the client's LoRA adapters, attention inputs, the KV cache
 * and the dropout seed. Frozen weights are shared read-only across threads; all per-call state
 * lives here.
 */
public final class ForwardContext implements AutoCloseable {

    private final NDManager manager;
    /** Whether closing this context frees its manager: false for a {@link #part}. */
    private final boolean ownsManager;
    private final LoraAdapters lora;
    private final boolean training;
    private final long dropoutSeed;
    private final Map<Float, NDArray> scalars;
    private final Map<Object, Object> derived = new HashMap<>();
    /** Non-null when this pass checkpoints its blocks (training with activation checkpointing). */
    private CheckpointTape tape;
    private NDArray positions;
    private NDArray attentionBias;
    private KvCache cache;

    public ForwardContext(NDManager parent, LoraAdapters lora, boolean training, long dropoutSeed) {
        this(parent.newSubManager(), true, lora, training, dropoutSeed, new HashMap<>());
    }

    /**
     * A training pass that, when {@code checkpointing}, recomputes its blocks in the backward
     * instead of keeping their activations ({@link CheckpointTape}); backpropagate it with
     * {@link #backward}.
     */
    public ForwardContext(NDManager parent, LoraAdapters lora, long dropoutSeed, boolean checkpointing) {
        this(parent, lora, true, dropoutSeed);
        this.tape = checkpointing ? new CheckpointTape() : null;
    }

    private ForwardContext(NDManager manager, boolean ownsManager, LoraAdapters lora, boolean training, long dropoutSeed,
                           Map<Float, NDArray> scalars) {
        this.manager = manager;
        this.ownsManager = ownsManager;
        this.lora = lora;
        this.training = training;
        this.dropoutSeed = dropoutSeed;
        this.scalars = scalars;
    }

    /**
     * A context for some blocks of this same pass with other adapters (and its own attention
     * rows): its temporaries live in this pass's manager, so they stay alive for the backward.
     * Closing a part frees nothing; closing this context frees them all.
     */
    public ForwardContext part(LoraAdapters adapters) {
        ForwardContext p = new ForwardContext(manager, false, adapters, training, dropoutSeed, scalars);
        p.tape = tape;
        return p;
    }

    /**
     * The same pass (adapters, seed, attention inputs) with temporaries of its own, freed when it
     * is closed: for one block ({@link #runBlock}, {@link CheckpointTape}). Constants and derived
     * values are made anew in it, as they would be freed with it; arrays made from Java data in a
     * block are PyTorch-owned copies ({@link TorchArrays}), so autograd may keep them past it.
     */
    ForwardContext scratch() {
        ForwardContext s = new ForwardContext(manager.newSubManager(), true, lora, training, dropoutSeed, new HashMap<>());
        s.positions = positions;
        s.attentionBias = attentionBias;
        s.cache = cache;
        return s;
    }

    /**
     * Runs one block in this pass. Its temporaries go to a scratch manager closed right after it:
     * while autograd records it keeps the tensors its backward needs and the rest is freed at once
     * rather than when the pass ends (as PyTorch frees them); without autograd nothing outlives the
     * block. A decoding pass keeps everything (its KV cache grows in the pass), and on a
     * checkpointing pass the block is recomputed in the backward instead ({@link CheckpointTape}).
     */
    public NDArray runBlock(DecoderBlock block, NDArray h) {
        if (cache != null) {
            return block.forward(h, this);
        }
        if (tape != null && JniUtils.isGradMode()) {
            return tape.forward(block, h, this);
        }
        return inScratch(block, h);
    }

    /** {@code block} on {@code h} with its temporaries in a scratch closed after it; the output belongs to this pass. */
    NDArray inScratch(DecoderBlock block, NDArray h) {
        try (ForwardContext scratch = scratch()) {
            // an op's result belongs to its first operand's manager: lent to the scratch, the
            // input takes the block's temporaries with it
            h.tempAttach(scratch.manager());
            NDArray out = block.forward(h, scratch);
            out.attach(manager);
            return out;
        }
    }

    /**
     * Backpropagates {@code grad} from {@code output} through this pass, recomputing its
     * checkpointed blocks; gradients accumulate on the LoRA weights and on the leaves of the pass.
     */
    public void backward(NDArray output, NDArray grad) {
        JniUtils.backward((PtNDArray) output, (PtNDArray) grad, false, false);
        if (tape != null) {
            tape.backward();
        }
    }

    public NDManager manager() {
        return manager;
    }

    /** The adapters applied in this pass, or null for the base model. */
    public LoraAdapters lora() {
        return lora;
    }

    public boolean training() {
        return training;
    }

    /** Seed from which every dropout mask of this pass is derived (per layer and target). */
    public long dropoutSeed() {
        return dropoutSeed;
    }

    /**
     * A 0-d fp32 constant owned by this pass. PyTorch-backed {@code NDArray.mul(Number)} wraps the
     * scalar in a Java buffer that is freed at once while autograd still refers to it
     * (DJL-NOTES trap 2), so constants are made here and live until the pass is closed.
     */
    public NDArray scalar(float value) {
        return scalars.computeIfAbsent(value, v -> manager.full(new Shape(), v, DataType.FLOAT32));
    }

    /** Position ids [batch, time] (int64). */
    public NDArray positions() {
        return positions;
    }

    /** Additive attention bias [batch, 1, time, keys]: 0 where attention is allowed. */
    public NDArray attentionBias() {
        return attentionBias;
    }

    public KvCache cache() {
        return cache;
    }

    public ForwardContext withAttention(NDArray positions, NDArray attentionBias) {
        this.positions = positions;
        this.attentionBias = attentionBias;
        derived.clear();
        return this;
    }

    /**
     * A value derived from this pass's attention inputs (a sliding-window bias, RoPE tables for a
     * length-dependent variant), made once per pass and key, and forgotten when the inputs change.
     * Arrays made for it belong to this pass's manager.
     */
    @SuppressWarnings("unchecked")
    public <T> T derived(Object key, Supplier<T> make) {
        Object v = derived.get(key);
        if (v == null) {
            v = make.get();
            derived.put(key, v);
        }
        return (T) v;
    }

    public ForwardContext withCache(KvCache cache) {
        this.cache = cache;
        return this;
    }

    @Override
    public void close() {
        if (ownsManager) {
            manager.close();
        }
    }
}
