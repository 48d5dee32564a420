package org.splitlora.report;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A run's validation loss against the training wall time and the bytes exchanged so far: the
 * SplitLoRA paper's comparison of modes by the time and traffic they need to reach a loss. Time
 * and bytes accumulate over every round (evaluation time excluded, since how often a run
 * evaluates is not the method's cost); a point is kept at each round with a validation loss.
 */
public final class LossCurve {

    /** Where the run stood after {@code round} (1-based, as metrics.jsonl counts): seconds and bytes so far, the validation loss. */
    public record Point(int round, double seconds, long bytes, double valLoss) {}

    private final List<Point> points = new ArrayList<>();
    private double seconds;
    private long bytes;

    /** One more round: its training seconds and bytes exchanged, its validation loss (NaN: not evaluated, or diverged). */
    public void add(int round, double trainSeconds, long bytesExchanged, double valLoss) {
        seconds += trainSeconds;
        bytes += bytesExchanged;
        if (!Double.isNaN(valLoss)) {
            points.add(new Point(round, seconds, bytes, valLoss));
        }
    }

    /** The curve of a run directory's rounds (activations, gradients and adapters both ways). */
    public static LossCurve of(RunRecords run) {
        LossCurve c = new LossCurve();
        for (RunRecords.Round r : run.rounds()) {
            c.add(r.round(), r.trainSeconds(), r.splitBytes() + r.adapterBytes(), r.valLoss());
        }
        return c;
    }

    public List<Point> points() {
        return List.copyOf(points);
    }

    /** The first evaluated round whose validation loss is at most {@code target}. */
    public Optional<Point> firstReaching(double target) {
        return points.stream().filter(p -> p.valLoss() <= target).findFirst();
    }

    /** The lowest validation loss of the run (NaN if no round was evaluated). */
    public double best() {
        return points.stream().mapToDouble(Point::valLoss).min().orElse(Double.NaN);
    }

    /**
     * The lowest loss that every curve reaches: the largest of their best losses (NaN if a curve
     * has no point).
     */
    public static double commonTarget(Collection<LossCurve> curves) {
        double target = Double.NEGATIVE_INFINITY;
        for (LossCurve c : curves) {
            double best = c.best();
            if (Double.isNaN(best)) {
                return Double.NaN;
            }
            target = Math.max(target, best);
        }
        return curves.isEmpty() ? Double.NaN : target;
    }
}
