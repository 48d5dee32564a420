package org.splitlora.split;

/**
 * One client → server message of the split exchange: the activations at the cut for one
 * micro-batch, with what the server needs to finish the forward and the loss. Rows are
 * right-padded to {@code time}; {@code targetPositions} are flat indices (row · time + t) of the
 * positions whose next token is a target and {@code labels} those tokens; every target's loss is
 * weighted by {@code lossWeight} (1 / the client's global-batch target count).
 *
 * @param attempt the Spark stage attempt: a retried round restarts the server from its round-start
 *     state, so updates of a failed attempt are never counted twice
 * @param step global optimizer step; {@code micro} of {@code microCount} micro-batches in it
 */
public record StepRequest(
        String runId,
        int clientId,
        int round,
        int attempt,
        int step,
        int micro,
        int microCount,
        int cut,
        long dropoutSeed,
        WireDtype dtype,
        int batch,
        int time,
        int hidden,
        byte[] activations,
        int[] lengths,
        long[] targetPositions,
        int[] labels,
        float lossWeight) {

    /** Checks the internal consistency of a frame (the server then checks it against its model). */
    public StepRequest {
        require(batch > 0 && time > 0 && hidden > 0, "shape [" + batch + ", " + time + ", " + hidden + "] must be positive");
        require((long) batch * time * hidden * dtype.bytesPerValue() == activations.length,
                "activation payload of " + activations.length + " bytes does not match shape [" + batch + ", "
                        + time + ", " + hidden + "] in " + dtype);
        require(lengths.length == batch, lengths.length + " row lengths for a batch of " + batch);
        for (int l : lengths) {
            require(l >= 1 && l <= time, "row length " + l + " outside [1, " + time + "]");
        }
        require(targetPositions.length == labels.length,
                targetPositions.length + " target positions but " + labels.length + " labels");
        for (long p : targetPositions) {
            require(p >= 0 && p < (long) batch * time, "target position " + p + " outside the batch");
        }
        require(micro >= 0 && micro < microCount, "micro-batch " + micro + " of " + microCount);
        require(Float.isFinite(lossWeight) && lossWeight > 0, "loss weight " + lossWeight + " must be > 0");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new MalformedFrameException(message);
        }
    }

    /** The micro-batch as the server segment runs it: the activations decoded from the wire dtype. */
    public SegmentInput segmentInput() {
        return new SegmentInput(clientId, cut, dropoutSeed, batch, time, dtype.decode(activations, batch * time * hidden),
                lengths, targetPositions, labels, lossWeight);
    }

    /** Bytes of the payload that crossed the network (activations, masks and labels). */
    public long wireBytes() {
        return activations.length + 4L * lengths.length + 12L * labels.length;
    }
}
