package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.nn.ForwardContext;
import org.splitlora.model.nn.Torch;

/** Validation loss / perplexity of a model (with or without adapters) on completion tokens. */
public final class Evaluator {

    private Evaluator() {}

    public static EvalResult evaluate(DecoderModel model, LoraAdapters lora, List<TokenizedExample> examples, int batchSize) {
        double sum = 0;
        long targets = 0;
        int pad = model.config().eosTokenId();
        try (Torch.GradScope ignored = Torch.gradMode(false)) {
            for (int i = 0; i < examples.size(); i += batchSize) {
                List<TokenizedExample> chunk = examples.subList(i, Math.min(examples.size(), i + batchSize));
                // weight 1 per target: the returned sum is Σ nll
                Batch batch = Batch.of(chunk, pad, 1);
                try (ForwardContext ctx = new ForwardContext(model.manager(), lora, false, 0)) {
                    NDArray ids = batch.prepare(ctx);
                    NDArray loss = CausalLmLoss.compute(model, model.runBlocks(model.embed(ids, ctx), ctx), batch, 0, ctx);
                    sum += loss.getFloat();
                }
                targets += batch.targetCount();
            }
        }
        return new EvalResult(targets == 0 ? Double.NaN : sum / targets, targets);
    }
}
