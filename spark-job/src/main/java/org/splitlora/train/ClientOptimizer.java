package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.Serializable;
import java.util.List;

/**
 * What a federated client steps with ({@code federation.clientOptimizer}): the run's AdamW
 * ({@code optimizer.*}, its schedule and clipping), or SGD at the constant {@code
 * federation.clientLr} for FedOpt, where a server optimizer does the adaptive part.
 */
public record ClientOptimizer(boolean sgd, double sgdLr) implements Serializable {

    private static final long serialVersionUID = 1L;

    public LocalOptimizer create(List<NDArray> params, OptimizerConfig adamw, NDManager parent) {
        return sgd ? new Sgd(params, sgdLr, parent) : new AdamW(params, adamw, parent);
    }
}
