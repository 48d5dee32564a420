package org.splitlora.split.schedule;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The split server's scheduling policy, apart from its transport: from the micro-batches clients
 * send (who, which round and stage attempt, which global step and micro-batch), it decides which
 * are served together as one group, in which order, when a global step is complete, which frames
 * are refused, and when a waiting group gives up. The server owns the streams, the segment and one
 * worker thread; it hands every event of that thread to the scheduler and serves the groups
 * {@link #next} returns, in that order. A scheduler is only ever called from that thread.
 *
 * <p>Whatever the order in which frames arrive, an implementation serves the same groups (members
 * by client id) in the same order, so runs are reproducible.
 *
 * @param <T> the server's handle on one queued micro-batch (its frame and where to answer it),
 *     which the scheduler keeps without looking into
 */
public interface StepScheduler<T> {

    /** A round (or a sequential-split turn): global steps [firstStep, firstStep + steps) of {@code clients}, kept ascending. */
    record Turn(int round, int firstStep, int steps, Set<Integer> clients) {
        public Turn {
            clients = Collections.unmodifiableSortedSet(new TreeSet<>(clients));
        }

        /** The step after the turn's last. */
        public int endStep() {
            return firstStep + steps;
        }
    }

    /** Where a client's micro-batch belongs: round, Spark stage attempt, global step, micro-batch {@code micro} of {@code microCount}. */
    record Slot(int client, int round, int attempt, int step, int micro, int microCount) {}

    /**
     * Micro-batches to serve as one group: micro-batch {@code micro} of global step {@code step}
     * of {@code clients} (ascending), {@code members} in the same order. {@code endsStep}: after
     * it the step's gradients are complete and the server takes its optimizer step.
     */
    record Group<T>(int step, int micro, List<Integer> clients, List<T> members, boolean endsStep) {}

    /** Why the scheduler drops a queued or arriving micro-batch; the transport answers each kind with its own status. */
    enum Refusal {
        /** Not a frame the turn expects now (another round, a stranger, a superseded attempt, out of order). */
        NOT_DUE,
        /** Its stage attempt cannot finish: a client left, its Spark task failed, or a newer attempt started. */
        ATTEMPT_ABORTED,
        /** Its group did not fill within split.stepTimeout. */
        TIMED_OUT
    }

    /** What a scheduler asks of the server. */
    interface Effects<T> {
        /** Answers {@code ticket} with an error of kind {@code why}. */
        void refuse(T ticket, Refusal why, String message);

        /** A newer stage attempt restarts the turn: the server puts its segment back to its state at the turn's start. */
        void rollBack();
    }

    /** Opens a turn; whatever was queued is forgotten. */
    void open(Turn turn);

    /** Closes the turn; an {@link IllegalStateException} when some client did not finish it. */
    void close();

    /** Whether a frame may join the turn (else it is refused through {@link Effects#refuse}); nothing is queued yet. */
    boolean admit(T ticket, Slot slot);

    /**
     * Queues an admitted frame whose payload fits the segment, at {@code nanos} (System.nanoTime);
     * false when it was refused. The server then serves every group {@link #next} returns.
     */
    boolean enqueue(T ticket, Slot slot, long nanos);

    /** The next group to serve, complete, or null; it stays queued until {@link #served}. */
    Group<T> next();

    /** {@code group}, the last {@link #next}, was served and answered at {@code nanos} (System.nanoTime). */
    void served(Group<T> group, long nanos);

    /**
     * A client's connection closed: its queued frames ({@code itsTickets}) leave the queue; if it
     * had joined the current attempt as {@code client} (-1 if it never joined) and had steps to go,
     * the attempt cannot finish and the other waiting clients are refused now.
     */
    void disconnected(Predicate<T> itsTickets, int client, int attempt);

    /** Spark reports that stage attempt {@code attempt} of the turn (round, firstStep) failed. */
    void abort(int round, int firstStep, int attempt, String reason);

    /** Refuses a group that has waited longer than the step timeout, at {@code nanos}. */
    void expire(long nanos);

    /** Empties the queue (the server failed to serve it); the tickets that were waiting. */
    List<T> drain();
}
