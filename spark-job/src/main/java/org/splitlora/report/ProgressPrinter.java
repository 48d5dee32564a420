package org.splitlora.report;

import java.io.PrintStream;
import java.util.Locale;
import org.splitlora.train.EvalResult;
import org.splitlora.train.TrainListener;

/**
 * A progress line every {@code every} steps (and at the last): step, loss, lr, tokens/s, ETA.
 * Plain lines, so logs and pipes read well.
 */
public final class ProgressPrinter implements TrainListener {

    private final PrintStream out;
    private final int every;
    private final long start = System.nanoTime();
    private long tokens;

    public ProgressPrinter(PrintStream out, int every) {
        this.out = out;
        this.every = Math.max(1, every);
    }

    @Override
    public void onStep(StepResult s) {
        tokens += s.tokens();
        if (s.step() % every != 0 && s.step() != s.totalSteps()) {
            return;
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        double eta = elapsed / s.step() * (s.totalSteps() - s.step());
        out.printf(Locale.ROOT, "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  elapsed %s  ETA %s%n",
                s.step(), s.totalSteps(), s.loss(), s.learningRate(), tokens / Math.max(elapsed, 1e-9),
                duration(elapsed), duration(eta));
    }

    @Override
    public void onEval(int step, EvalResult eval) {
        out.printf(Locale.ROOT, "eval @ step %d  val_loss %.4f  val_ppl %.2f%n", step, eval.loss(), eval.perplexity());
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
