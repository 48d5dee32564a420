package org.splitlora.train;

import java.io.Serializable;

/**
 * Where a trainer's time went, in seconds, summed over its steps: its own forward and backward,
 * and for a split client the exchange with the server, of which the server reports its forward,
 * backward and the time the micro-batch waited for the other clients of its lock-step group. The
 * rest of the exchange is transfer (encoding, network, decoding). A pipelined client
 * (split.pipelineDepth > 1) waits only for what its own compute did not cover, so its exchange is
 * shorter than the server's phases and no transfer share can be told apart: compare round times.
 */
public record StepTimings(double clientForward, double clientBackward, double exchange, double serverForward,
                          double serverBackward, double serverWait) implements Serializable {

    private static final long serialVersionUID = 1L;
    public static final StepTimings ZERO = new StepTimings(0, 0, 0, 0, 0, 0);

    public StepTimings plus(StepTimings o) {
        return new StepTimings(clientForward + o.clientForward, clientBackward + o.clientBackward, exchange + o.exchange,
                serverForward + o.serverForward, serverBackward + o.serverBackward, serverWait + o.serverWait);
    }

    /** Exchange time not spent computing or waiting on the server. */
    public double transfer() {
        return Math.max(0, exchange - serverForward - serverBackward - serverWait);
    }
}
