package org.splitlora.train;

/** Receives progress from a trainer: metrics, progress lines and checkpoints hook in here. */
public interface TrainListener {

    /** After each optimizer step. */
    default void onStep(StepResult step) {}

    /** After each evaluation on the validation set. */
    default void onEval(int step, EvalResult eval) {}

    /** One optimizer step: the mean training loss over its targets, lr, pre-clip gradient norm, tokens, time. */
    record StepResult(int step, int totalSteps, double loss, double learningRate, double gradNorm, long tokens, double seconds) {}
}
