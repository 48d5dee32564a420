package org.splitlora.train;

/**
 * AdamW and schedule settings (torch.optim.AdamW semantics; linear warmup then linear decay to
 * zero, as HF's get_linear_schedule_with_warmup).
 */
public record OptimizerConfig(
        double learningRate,
        double beta1,
        double beta2,
        double eps,
        double weightDecay,
        int warmupSteps,
        double maxGradNorm) implements java.io.Serializable {

    public OptimizerConfig {
        if (!(learningRate > 0)) throw new IllegalArgumentException("optimizer.lr must be > 0, got " + learningRate);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("optimizer.beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("optimizer.beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("optimizer.eps must be > 0, got " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("optimizer.weightDecay must be >= 0, got " + weightDecay);
        if (warmupSteps < 0) throw new IllegalArgumentException("optimizer.warmupSteps must be >= 0, got " + warmupSteps);
        if (!(maxGradNorm >= 0)) throw new IllegalArgumentException("optimizer.maxGradNorm must be >= 0 (0 = off), got " + maxGradNorm);
    }

    /** The SplitLoRA E2E recipe: lr 2e-4, wd 0.01, eps 1e-6, warmup 500, clip 1.0 ... β as torch. */
    public static OptimizerConfig defaults() {
        return new OptimizerConfig(2e-4, 0.9, 0.999, 1e-6, 0.01, 500, 1.0);
    }

    /** HF linear schedule: factor for optimizer step {@code step} (0-based) of {@code totalSteps}. */
    public double lrAt(int step, int totalSteps) {
        if (step < warmupSteps) {
            return learningRate * step / Math.max(1, warmupSteps);
        }
        return learningRate * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    }
}
