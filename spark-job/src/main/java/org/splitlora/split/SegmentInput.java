package org.splitlora.split;

/**
 * One client's micro-batch as the server segment runs it: the activations at the client's cut,
 * decoded from the wire ([batch, time, hidden] row-major, rows right-padded to {@code time}), and
 * the targets of its loss (flat positions row · time + t, their next tokens, each weighted by
 * {@code lossWeight}).
 */
public record SegmentInput(int clientId, int cut, long dropoutSeed, int batch, int time, float[] activations, int[] lengths,
                           long[] targetPositions, int[] labels, float lossWeight) {}
