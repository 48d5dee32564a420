package org.splitlora.split;

/**
 * Server → client: the gradient of the loss with respect to the activations the client sent
 * (same shape and wire dtype) and the micro-batch's weighted loss.
 */
public record StepReply(int step, int micro, float loss, WireDtype dtype, byte[] gradient, float serverSeconds) {}
