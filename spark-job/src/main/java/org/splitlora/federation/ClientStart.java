package org.splitlora.federation;

import java.io.Serializable;
import org.splitlora.train.AdamW;
import org.splitlora.train.SimulatedSpeed;

/**
 * What one client's task of a round gets beside the round's broadcast plan, and nothing of any
 * other client's: its segment (blocks [0, layers)), its simulated speed, its own optimizer state
 * (null: a fresh one) and the batches it has consumed so far. Shipped in the task's own
 * partition, so the bytes a task receives do not grow with the number of clients.
 */
record ClientStart(int clientId, int layers, SimulatedSpeed speed, AdamW.State optimizer, long batchesDone)
        implements Serializable {

    private static final long serialVersionUID = 1L;
}
