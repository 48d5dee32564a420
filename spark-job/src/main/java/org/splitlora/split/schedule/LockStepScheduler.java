package org.splitlora.split.schedule;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lock-step: the turn has one cursor (global step, micro-batch). The group at the cursor is every
 * client of the turn due at it, which a client's first micro-batch of a step announces (its
 * micro-batch count): all of them at micro-batch 0, then those with that many. The group is served
 * once all have arrived, members by client id, so the grouping depends only on the turn's clients,
 * never on arrival order.
 *
 * <p>Pipelining (split.pipelineDepth = d): a client may send up to d micro-batches of the current
 * step before the first is answered; they wait in its queue, in order, until the cursor reaches
 * them. Groups, their members and their order are the same at every depth, so the server's
 * arithmetic is too. A frame that is not the client's next micro-batch of the cursor's step, or
 * one beyond its d, is refused.
 *
 * <p>Stage attempts: Spark retries a failed round as a new attempt of its barrier stage. A frame
 * of a newer attempt rolls the server back to the turn's start and restarts the cursor, so a
 * retried round counts each update once; an attempt a client left before its last step, or whose
 * Spark task failed, is broken: its waiting clients fail now and its later frames are refused.
 */
public final class LockStepScheduler<T> implements StepScheduler<T> {

    private static final Logger LOG = LoggerFactory.getLogger(LockStepScheduler.class);

    private final Duration stepTimeout;
    private final int depth;
    private final Effects<T> effects;

    private int round = -1;
    private int attempt;
    private int brokenAttempt = -1;
    private int firstStep;
    private int endStep;
    private Set<Integer> expected = Set.of();
    // the cursor
    private int step;
    private int micro;
    /** The step's micro-batch count of each client, as its micro-batch 0 announced it. */
    private final Map<Integer, Integer> microCounts = new TreeMap<>();
    /** Clients that have been served their turn's last micro-batch. */
    private final Set<Integer> finished = new TreeSet<>();
    /** Each client's queued micro-batches of the cursor's step, in micro-batch order; the head is at the cursor. */
    private final Map<Integer, ArrayDeque<Waiting<T>>> waiting = new TreeMap<>();
    /** When the group at the cursor began to wait: its first frame's arrival, or the cursor's move if frames were queued ahead. */
    private long groupSince;

    private record Waiting<T>(T ticket, Slot slot) {}

    /**
     * Waits at most {@code stepTimeout} for a group to fill; queues at most {@code depth}
     * micro-batches per client (split.pipelineDepth); asks {@code effects} to refuse frames and
     * roll back.
     */
    public LockStepScheduler(Duration stepTimeout, int depth, Effects<T> effects) {
        if (depth < 1) {
            throw new IllegalArgumentException("pipeline depth must be >= 1, got " + depth);
        }
        this.stepTimeout = stepTimeout;
        this.depth = depth;
        this.effects = effects;
    }

    @Override
    public void open(Turn turn) {
        round = turn.round();
        attempt = 0;
        brokenAttempt = -1;
        firstStep = turn.firstStep();
        endStep = turn.endStep();
        expected = turn.clients();
        resetCursor();
    }

    @Override
    public void close() {
        if (step != endStep) {
            throw new IllegalStateException("round " + round + " ended at step " + step + " of " + endStep
                    + ": some client did not finish");
        }
        round = -1;
        expected = Set.of();
    }

    @Override
    public boolean admit(T ticket, Slot s) {
        String problem = problem(s);
        if (problem != null) {
            effects.refuse(ticket, Refusal.NOT_DUE, problem);
        }
        return problem == null;
    }

    /** Why a frame cannot join the current turn, or null. */
    private String problem(Slot s) {
        if (s.round() != round) {
            return "frame of round " + s.round() + ", the server is " + (round < 0 ? "between rounds" : "in round " + round);
        }
        if (!expected.contains(s.client())) {
            return "client " + s.client() + " is not in round " + round;
        }
        if (s.attempt() < attempt) {
            return "stage attempt " + s.attempt() + " was superseded by attempt " + attempt;
        }
        if (s.attempt() <= brokenAttempt) {
            return "stage attempt " + s.attempt() + " of round " + round + " failed (a client left or its task failed)";
        }
        ArrayDeque<Waiting<T>> queued = waiting.get(s.client());
        if (queued != null && queued.size() >= depth && s.attempt() == attempt) {
            return depth == 1 ? "client " + s.client() + " sent twice before a reply"
                    : "client " + s.client() + " sent more than " + depth + " micro-batches (split.pipelineDepth) before a reply";
        }
        return null;
    }

    @Override
    public boolean enqueue(T ticket, Slot s, long nanos) {
        if (s.attempt() > attempt) {
            // Spark retries the whole barrier stage: forget the failed attempt's steps
            LOG.warn("split server: round {} restarts as stage attempt {}; rolling back to the round start", round + 1, s.attempt());
            refuseWaiting(Refusal.ATTEMPT_ABORTED, "round " + (round + 1) + " restarted as attempt " + s.attempt());
            effects.rollBack();
            attempt = s.attempt();
            resetCursor();
        }
        ArrayDeque<Waiting<T>> queued = waiting.get(s.client());
        int due = queued == null ? micro : queued.peekLast().slot().micro() + 1;
        if (s.step() != step || s.micro() != due) {
            effects.refuse(ticket, Refusal.NOT_DUE, "client " + s.client() + " sent step " + s.step() + " micro-batch "
                    + s.micro() + ", the server is at step " + step + " micro-batch " + micro
                    + (queued == null ? "" : " and has its micro-batches up to " + (due - 1) + " queued"));
            return false;
        }
        if (s.micro() == 0) {
            microCounts.put(s.client(), s.microCount());
        } else if (microCounts.get(s.client()) != s.microCount()) {
            effects.refuse(ticket, Refusal.NOT_DUE, "client " + s.client() + " announced " + microCounts.get(s.client())
                    + " micro-batches for step " + step + ", its micro-batch " + s.micro() + " says " + s.microCount());
            return false;
        }
        if (waiting.isEmpty()) {
            groupSince = nanos;
        }
        waiting.computeIfAbsent(s.client(), c -> new ArrayDeque<>()).add(new Waiting<>(ticket, s));
        return true;
    }

    @Override
    public Group<T> next() {
        if (waiting.isEmpty() || micro == 0 && microCounts.size() < expected.size()) {
            return null;
        }
        List<Integer> clients = new ArrayList<>();
        List<T> members = new ArrayList<>();
        for (int c : expected) {
            if (micro == 0 || microCounts.getOrDefault(c, 0) > micro) {
                ArrayDeque<Waiting<T>> queued = waiting.get(c);
                if (queued == null) {
                    return null;
                }
                clients.add(c);
                members.add(queued.peekFirst().ticket());
            }
        }
        int micros = microCounts.values().stream().mapToInt(Integer::intValue).max().orElse(1);
        return new Group<>(step, micro, List.copyOf(clients), List.copyOf(members), micro + 1 >= micros);
    }

    @Override
    public void served(Group<T> group, long nanos) {
        for (int c : group.clients()) {
            ArrayDeque<Waiting<T>> queued = waiting.get(c);
            Waiting<T> w = queued.pollFirst();
            if (queued.isEmpty()) {
                waiting.remove(c);
            }
            if (step == endStep - 1 && micro == w.slot().microCount() - 1) {
                finished.add(c);
            }
        }
        micro++;
        if (group.endsStep()) {
            step++;
            micro = 0;
            microCounts.clear();
        }
        // frames sent ahead now wait on the new cursor's group
        groupSince = nanos;
    }

    @Override
    public void disconnected(Predicate<T> itsTickets, int client, int clientAttempt) {
        waiting.values().forEach(queued -> queued.removeIf(w -> itsTickets.test(w.ticket())));
        waiting.values().removeIf(ArrayDeque::isEmpty);
        // only a client that took part in the current attempt can break it (not a refused straggler)
        if (round >= 0 && clientAttempt == attempt && expected.contains(client) && !finished.contains(client)
                && brokenAttempt < attempt) {
            LOG.warn("split server: client {} left round {} before its last step; failing the round's attempt {}",
                    client, round + 1, attempt);
            brokenAttempt = attempt;
            refuseWaiting(Refusal.ATTEMPT_ABORTED, "client " + client + " left round " + (round + 1));
        }
    }

    @Override
    public void abort(int round, int firstStep, int failed, String reason) {
        if (round != this.round || firstStep != this.firstStep || failed < attempt || failed <= brokenAttempt) {
            return; // another turn, or an attempt already superseded or failed
        }
        LOG.warn("split server: round {} stage attempt {} failed ({}); failing its waiting clients", round + 1, failed, reason);
        brokenAttempt = failed;
        refuseWaiting(Refusal.ATTEMPT_ABORTED, "round " + (round + 1) + " attempt " + failed + ": " + reason);
    }

    @Override
    public void expire(long nanos) {
        if (!waiting.isEmpty() && nanos - groupSince > stepTimeout.toNanos()) {
            Set<Integer> missing = new TreeSet<>(expected);
            missing.removeAll(waiting.keySet());
            refuseWaiting(Refusal.TIMED_OUT, "step " + step + ": no activations from client(s) " + missing
                    + " within split.stepTimeout " + stepTimeout);
        }
    }

    @Override
    public List<T> drain() {
        List<T> out = new ArrayList<>();
        waiting.values().forEach(queued -> queued.forEach(w -> out.add(w.ticket())));
        waiting.clear();
        return out;
    }

    private void refuseWaiting(Refusal why, String message) {
        for (T t : drain()) {
            effects.refuse(t, why, message);
        }
    }

    private void resetCursor() {
        finished.clear();
        step = firstStep;
        micro = 0;
        microCounts.clear();
        waiting.clear();
    }
}
