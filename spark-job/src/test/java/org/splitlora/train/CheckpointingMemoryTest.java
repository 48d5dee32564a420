package org.splitlora.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.LoraTestSupport;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;

/**
 * What a training pass holds for its backward, in the bytes malloc has handed out (PyTorch's CPU
 * tensors come from malloc): with activation checkpointing only the blocks' inputs, far less than
 * the tensors autograd saves in every block of the plain pass.
 */
class CheckpointingMemoryTest {

    @Test
    void aCheckpointedPassHoldsAFractionOfThePlainPassForItsBackward() {
        ModelSource source = ModelSource.of(BuiltinModels.TINY_GPT2);
        int layers = source.config().numLayers();
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V), 4, 8, 0.1);
        List<TokenizedExample> data = LoraTestSupport.sequences(500, 3, 200, 200, 200, 200, 200, 200, 200, 200);
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, layers, 5)) {
            held(model, lora, data, false); // warm up: weights read, kernels chosen
            long plain = Math.min(held(model, lora, data, false), held(model, lora, data, false));
            long checkpointed = Math.max(held(model, lora, data, true), held(model, lora, data, true));
            // the blocks' inputs: 8 x 200 tokens x 64 floats per block
            long inputs = (long) layers * 8 * 200 * 64 * 4;
            assertTrue(plain > 8 * inputs, "plain pass holds " + plain + " bytes");
            assertTrue(checkpointed < plain / 4, "checkpointed pass holds " + checkpointed + " bytes, plain " + plain);
        }
    }

    /** Bytes in use once the blocks have run, beyond what was in use after the embeddings. */
    private static long held(DecoderModel model, LoraAdapters lora, List<TokenizedExample> data, boolean checkpointing) {
        Batch batch = Batch.of(data, model.config().eosTokenId(), 0);
        try (Torch.GradScope ignored = Torch.gradMode(true);
             ForwardContext ctx = new ForwardContext(model.manager(), lora, 7, checkpointing)) {
            NDArray h = model.embed(batch.prepare(ctx), ctx);
            long before = MallocCounters.inUseBytes();
            model.runBlocks(h, ctx);
            return MallocCounters.inUseBytes() - before;
        }
    }
}
