package org.splitlora.splitft;

/**
 * What a cut policy sees of one client's round.
 *
 * @param cut the blocks [0, cut) the client ran
 * @param computeSecondsPerStep the client's own forward and backward seconds per local step (no waiting)
 * @param tokensPerStep tokens it processed per local step
 * @param loss its mean training loss over the round, on its own data
 */
public record ClientRound(int client, int cut, double computeSecondsPerStep, double tokensPerStep, double loss) {

    /** Seconds per block per token: the client's compute speed, independent of its cut and data lengths. */
    double secondsPerBlockToken() {
        return computeSecondsPerStep / cut / Math.max(1, tokensPerStep);
    }
}
