package org.splitlora.bench;

import org.splitlora.model.config.ModelConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;

/**
 * The matmul FLOPs one token costs a LoRA training step on frozen base weights, counted from the
 * model's shapes (a multiply-add is 2 FLOPs):
 * <ul>
 *   <li>every block projection ({@code in × out}): its forward, 2·in·out, and the backward to its
 *       input, another 2·in·out (a frozen weight gets no gradient);</li>
 *   <li>each LoRA pair of rank r: forward 2·r·(in + out), backward twice that (input and weight
 *       gradients of both factors);</li>
 *   <li>the LM head ({@code V × d}), forward and input gradient, at target tokens only: logits
 *       are computed only where a loss is taken.</li>
 * </ul>
 * Left out, so that a fraction of peak computed from it is a lower bound: attention's score and
 * weighted-value products (4·T·heads·headDim per layer and token forward, twice that backward,
 * depending on each batch's padded length T; about 4 % of the total at GPT-2 small and T = 128),
 * and the forward that activation checkpointing repeats (overhead, not the model's work).
 */
public record TrainingFlops(double blocks, double lora, double head) {

    /**
     * @param targetFraction target tokens per token of the training data (the head's share)
     */
    public static TrainingFlops of(ModelConfig c, LoraSpec spec, double targetFraction) {
        if (!(targetFraction >= 0 && targetFraction <= 1)) {
            throw new IllegalArgumentException("target fraction " + targetFraction + " outside [0, 1]");
        }
        double blocks = 0;
        double lora = 0;
        for (LoraTarget t : c.architecture().loraTargets()) {
            int[] dims = LoraAdapters.dims(c, t);
            blocks += 4.0 * dims[0] * dims[1] * c.numLayers();
            if (spec.targets().contains(t)) {
                for (int layer = 0; layer < c.numLayers(); layer++) {
                    lora += 6.0 * spec.rank(layer) * (dims[0] + dims[1]);
                }
            }
        }
        return new TrainingFlops(blocks, lora, 4.0 * c.vocabSize() * c.hiddenSize() * targetFraction);
    }

    public double perToken() {
        return blocks + lora + head;
    }
}
