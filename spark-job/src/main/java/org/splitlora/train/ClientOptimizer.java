package org.splitlora.train;

import java.io.Serializable;
import org.splitlora.model.lora.LoraAdapters;

/**
 * What a federated client steps with ({@code federation.clientOptimizer}): the run's AdamW
 * ({@code optimizer.*}, its schedule and clipping), or SGD at the constant {@code
 * federation.clientLr} for FedOpt, where a server optimizer does the adaptive part.
 */
public record ClientOptimizer(boolean sgd, double sgdLr) implements Serializable {

    private static final long serialVersionUID = 1L;

    public LocalOptimizer create(LoraAdapters lora, OptimizerConfig adamw) {
        return sgd ? new Sgd(lora, sgdLr) : new AdamW(lora.parameters(), adamw, lora.manager());
    }
}
