package org.splitlora.split;

/**
 * Server → client: the gradient of the loss with respect to the activations the client sent
 * (same shape and wire dtype), the micro-batch's weighted loss, and the server's forward and
 * backward time for the group it was served in and how long it waited for that group.
 */
public record StepReply(int step, int micro, float loss, WireDtype dtype, byte[] gradient, float forwardSeconds,
                        float backwardSeconds, float waitSeconds) {}
