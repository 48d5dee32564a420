package org.splitlora.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.Arrays;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.AttentionInputs;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.KvCache;

/**
 * Incremental decoding of several rows that share one prompt, with a KV cache. For RoPE variants
 * whose frequencies switch once a pass outgrows a length (Phi-3's long RoPE), the step that first
 * goes beyond it recomputes every row from its first token, as HF's Phi-3 generation does.
 */
final class DecodingSession implements AutoCloseable {

    private final DecoderModel model;
    private final LoraAdapters lora;
    private final NDManager manager;
    private final KvCache cache;
    /** The cache length at which the cache is recomputed (0 = never). */
    private final int recomputeAt;
    /** Each row's tokens so far (kept only where the cache may be recomputed). */
    private int[][] history;
    private int rows = 1;

    DecodingSession(DecoderModel model, LoraAdapters lora) {
        this.model = model;
        this.lora = lora;
        this.manager = model.manager().newSubManager();
        this.cache = new KvCache(manager);
        ModelConfig.Rope rope = model.config().rope();
        this.recomputeAt = rope != null && rope.scaling().recomputesCacheBeyondThreshold()
                ? rope.scaling().lengthThreshold(model.config().maxPositions()) : 0;
    }

    /** Runs the prompt (one row); returns the next-token logits. */
    float[][] prefill(int[] prompt) {
        if (recomputeAt > 0) {
            history = new int[][] {prompt.clone()};
        }
        return run(new int[][] {prompt});
    }

    /** Keeps/duplicates rows of the cache: new row i is old row {@code source[i]}. */
    void selectRows(int[] source) {
        long[] idx = Arrays.stream(source).asLongStream().toArray();
        try (NDArray rowsNd = manager.create(idx)) {
            cache.selectRows(rowsNd);
        }
        if (history != null) {
            int[][] picked = new int[source.length][];
            for (int i = 0; i < source.length; i++) {
                picked[i] = history[source[i]];
            }
            history = picked;
        }
        rows = source.length;
    }

    /** Feeds one token per row; returns each row's next-token logits. */
    float[][] step(int[] tokens) {
        if (tokens.length != rows) {
            throw new IllegalStateException(tokens.length + " tokens for " + rows + " rows");
        }
        int[][] in = new int[rows][];
        for (int r = 0; r < rows; r++) {
            in[r] = new int[] {tokens[r]};
        }
        if (history != null) {
            for (int r = 0; r < rows; r++) {
                history[r] = Arrays.copyOf(history[r], history[r].length + 1);
                history[r][history[r].length - 1] = tokens[r];
            }
            if (cache.length() == recomputeAt) {
                // this pass is the first longer than the threshold: its frequencies differ from
                // those the cached keys were rotated with
                cache.clear();
                return run(history);
            }
        }
        return run(in);
    }

    private float[][] run(int[][] tokens) {
        int b = tokens.length;
        int t = tokens[0].length;
        int past = cache.length();
        boolean[][] valid = new boolean[b][past + t];
        long[][] positions = new long[b][t];
        for (int r = 0; r < b; r++) {
            Arrays.fill(valid[r], true);
            for (int i = 0; i < t; i++) {
                positions[r][i] = past + i;
            }
        }
        try (ForwardContext ctx = new ForwardContext(manager, lora, false, 0)) {
            AttentionInputs.apply(ctx, valid, positions, past).withCache(cache);
            NDArray ids = AttentionInputs.ids(ctx.manager(), tokens);
            NDArray h = model.blocks(model.part().fromLayer(), model.part().toLayer(), model.embed(ids, ctx), ctx);
            NDArray logits = model.head(h.get(new NDIndex(":, -1:, :")), ctx);
            float[] flat = logits.toFloatArray();
            cache.advance(t);
            int v = flat.length / b;
            float[][] out = new float[b][];
            for (int r = 0; r < b; r++) {
                out[r] = Arrays.copyOfRange(flat, r * v, (r + 1) * v);
            }
            return out;
        }
    }

    @Override
    public void close() {
        cache.close();
        manager.close();
    }
}
