package org.splitlora.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Where the loss is taken: target positions of a [batch, time] grid, their labels and weight. */
public interface LossTargets {

    /** Flat indices (row · time + t) of the positions whose next token is a target (int64). */
    NDArray targetPositions(NDManager m);

    /** The target token of each target position (int64). */
    NDArray labels(NDManager m);

    /** Loss weight of every target: 1 / the number of targets the loss is averaged over. */
    float targetWeight();
}
