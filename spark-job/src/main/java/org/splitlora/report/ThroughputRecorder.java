package org.splitlora.report;

import java.util.LinkedHashMap;
import java.util.Map;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RoundResult;
import org.splitlora.train.StepTimings;

/**
 * Sums what a benchmark reports over a run's rounds, skipping the first {@code warmupRounds}
 * (model loading, JIT, first native allocations): tokens and training seconds, client-steps and
 * their time by phase, global steps, bytes exchanged, adapter bytes; and the last validation loss
 * and the run's {@link LossCurve}.
 */
public final class ThroughputRecorder implements RoundListener {

    private final int warmupRounds;
    private long tokens;
    private double seconds;
    private long clientSteps;
    private long globalSteps;
    private long bytes;
    private long loraBytes;
    private int rounds;
    private double lastValLoss = Double.NaN;
    private StepTimings timings = StepTimings.ZERO;
    private final LossCurve curve = new LossCurve();

    public ThroughputRecorder(int warmupRounds) {
        this.warmupRounds = warmupRounds;
    }

    @Override
    public void onRound(RoundResult r) {
        if (r.evaluated()) {
            lastValLoss = r.valLoss();
        }
        curve.add(r.round() + 1, r.trainSeconds(), r.bytesUp() + r.bytesDown() + r.loraBytesUp() + r.loraBytesDown(),
                r.evaluated() ? r.valLoss() : Double.NaN);
        if (r.round() < warmupRounds) {
            return;
        }
        rounds++;
        loraBytes += r.loraBytesUp() + r.loraBytesDown();
        tokens += r.tokens();
        seconds += r.trainSeconds();
        bytes += r.bytesUp() + r.bytesDown();
        int steps = 0;
        for (ClientUpdate u : r.updates()) {
            clientSteps += u.steps();
            steps = Math.max(steps, u.steps());
            timings = timings.plus(u.timings());
        }
        globalSteps += steps;
    }

    public double tokensPerSecond() {
        return tokens / Math.max(1e-9, seconds);
    }

    /** Mean milliseconds per client step, by phase. */
    public Map<String, Double> stepMillis() {
        double n = Math.max(1, clientSteps) / 1000.0;
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("client_forward", timings.clientForward() / n);
        m.put("client_backward", timings.clientBackward() / n);
        m.put("transfer", timings.transfer() / n);
        m.put("server_forward", timings.serverForward() / n);
        m.put("server_backward", timings.serverBackward() / n);
        m.put("server_wait", timings.serverWait() / n);
        return m;
    }

    /** Bytes exchanged per global step, all clients together. */
    public double bytesPerStep() {
        return bytes / (double) Math.max(1, globalSteps);
    }

    public double seconds() {
        return seconds;
    }

    /** Mean training seconds of a counted round (its wall time without evaluation). */
    public double roundSeconds() {
        return seconds / Math.max(1, rounds);
    }

    /** Adapter bytes sent to and from the clients per counted round. */
    public double loraBytesPerRound() {
        return loraBytes / (double) Math.max(1, rounds);
    }

    /** Validation loss against training time and bytes over every round, warm-up included (time-to-target counts it). */
    public LossCurve curve() {
        return curve;
    }

    /** The validation loss of the last evaluated round (NaN if none was). */
    public double lastValLoss() {
        return lastValLoss;
    }
}
