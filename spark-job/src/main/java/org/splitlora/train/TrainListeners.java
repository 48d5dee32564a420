package org.splitlora.train;

import java.util.List;

/** Fans one trainer's events out to several listeners. */
public final class TrainListeners implements TrainListener {

    private final List<TrainListener> listeners;

    public TrainListeners(TrainListener... listeners) {
        this.listeners = List.of(listeners);
    }

    @Override
    public void onStep(StepResult step) {
        listeners.forEach(l -> l.onStep(step));
    }

    @Override
    public void onEval(int step, EvalResult eval) {
        listeners.forEach(l -> l.onEval(step, eval));
    }
}
