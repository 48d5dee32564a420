package org.splitlora.model.nn;

import ai.djl.ndarray.NDArray;

/** One transformer block on hidden states [batch, time, hidden]; its wiring is the architecture's. */
public interface DecoderBlock {

    NDArray forward(NDArray h, ForwardContext ctx);
}
