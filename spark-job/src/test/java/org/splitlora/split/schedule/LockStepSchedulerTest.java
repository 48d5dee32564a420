package org.splitlora.split.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.split.schedule.StepScheduler.Group;
import org.splitlora.split.schedule.StepScheduler.Refusal;
import org.splitlora.split.schedule.StepScheduler.Slot;
import org.splitlora.split.schedule.StepScheduler.Turn;

/** Lock-step scheduling without transport or tensors: tickets are the frames' names. */
class LockStepSchedulerTest {

    /** What the scheduler asked of the server. */
    private static final class Recorder implements StepScheduler.Effects<String> {
        final List<String> refused = new ArrayList<>();
        int rollBacks;

        @Override
        public void refuse(String ticket, Refusal why, String message) {
            refused.add(ticket + " " + why + ": " + message);
        }

        @Override
        public void rollBack() {
            rollBacks++;
        }
    }

    private final Recorder effects = new Recorder();
    private LockStepScheduler<String> scheduler = new LockStepScheduler<>(Duration.ofSeconds(10), 1, effects);

    private static String name(Slot s) {
        return "c" + s.client() + " a" + s.attempt() + " s" + s.step() + " m" + s.micro();
    }

    /** Admits and queues {@code s}, then serves every complete group; the groups served. */
    private List<String> send(Slot s) {
        return send(s, 0);
    }

    /** {@link #send(Slot)} at {@code nanos}: the frame arrives and the groups are served then. */
    private List<String> send(Slot s, long nanos) {
        String t = name(s);
        List<String> served = new ArrayList<>();
        if (scheduler.admit(t, s) && scheduler.enqueue(t, s, nanos)) {
            for (Group<String> g = scheduler.next(); g != null; g = scheduler.next()) {
                served.add(g.step() + "/" + g.micro() + " " + g.clients() + (g.endsStep() ? " end" : "") + " " + g.members());
                scheduler.served(g, nanos);
            }
        }
        return served;
    }

    /**
     * With split.pipelineDepth d a client sends up to d micro-batches of its step before the first
     * is answered (never past the step's end: its optimizer step needs every reply); the groups,
     * their members and their order are lock-step's.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void groupsAreTheClientsDueAtEachMicroBatchWhateverTheArrivalOrder(int depth) {
        scheduler = new LockStepScheduler<>(Duration.ofSeconds(10), depth, effects);
        // micro-batches per step: client 0 has 2, client 1 one, client 2 three (all are due at micro-batch 0)
        Map<Integer, Integer> micros = Map.of(0, 2, 1, 1, 2, 3);
        List<String> reference = new ArrayList<>();
        for (int step = 5; step < 7; step++) {
            reference.add(step + "/0 [0, 1, 2] [c0 a0 s" + step + " m0, c1 a0 s" + step + " m0, c2 a0 s" + step + " m0]");
            reference.add(step + "/1 [0, 2] [c0 a0 s" + step + " m1, c2 a0 s" + step + " m1]");
            reference.add(step + "/2 [2] end [c2 a0 s" + step + " m2]");
        }
        for (long seed = 0; seed < 20; seed++) {
            scheduler.open(new Turn(3, 5, 2, Set.of(2, 0, 1)));
            Random rng = new Random(seed);
            // each client sends its next micro-batch once the last one was answered, in a random order
            Map<Integer, int[]> next = new TreeMap<>(); // client -> {step, micro}
            micros.keySet().forEach(c -> next.put(c, new int[] {5, 0}));
            Map<Integer, Integer> unanswered = new TreeMap<>(); // client -> micro-batches sent and not yet answered
            Map<Integer, Integer> sentOfStep = new TreeMap<>(); // client -> micro-batches of its step sent
            micros.keySet().forEach(c -> {
                unanswered.put(c, 0);
                sentOfStep.put(c, 0);
            });
            List<String> served = new ArrayList<>();
            int[] stepOfServer = {5};
            while (!next.isEmpty()) {
                // a client done with its step's micro-batches waits for the step's end
                List<Integer> ready = next.keySet().stream().filter(c -> unanswered.get(c) < depth
                        && sentOfStep.get(c) < micros.get(c) && next.get(c)[0] == stepOfServer[0]).toList();
                int c = ready.get(rng.nextInt(ready.size()));
                int[] at = next.get(c);
                unanswered.merge(c, 1, Integer::sum);
                List<String> groups = send(new Slot(c, 3, 0, at[0], sentOfStep.merge(c, 1, Integer::sum) - 1, micros.get(c)));
                served.addAll(groups);
                for (String g : groups) {
                    if (g.contains(" end ")) {
                        stepOfServer[0]++;
                    }
                    for (int member : clientsOf(g)) {
                        unanswered.merge(member, -1, Integer::sum);
                        int[] n = next.get(member);
                        if (++n[1] == micros.get(member)) {
                            n[0]++;
                            n[1] = 0;
                            sentOfStep.put(member, 0);
                        }
                        if (n[0] == 7) {
                            next.remove(member);
                        }
                    }
                }
            }
            assertEquals(reference, served, "arrival order of seed " + seed);
            assertEquals(List.of(), effects.refused);
            scheduler.close();
        }
    }

    private static List<Integer> clientsOf(String group) {
        String list = group.substring(group.indexOf('[') + 1, group.indexOf(']'));
        return java.util.Arrays.stream(list.split(", ")).map(Integer::parseInt).toList();
    }

    @Test
    void framesOutOfTurnAreRefusedAndNothingIsQueued() {
        assertFalse(scheduler.admit("early", new Slot(0, 0, 0, 0, 0, 1)));
        scheduler.open(new Turn(0, 0, 1, Set.of(0, 1)));
        assertFalse(scheduler.admit("stranger", new Slot(7, 0, 0, 0, 0, 1)));
        assertFalse(scheduler.admit("other round", new Slot(0, 1, 0, 0, 0, 1)));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 1, 0, 1)), "a step ahead");
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 0, 1)));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 0, 1)), "twice before a reply");
        assertEquals(List.of(
                "early NOT_DUE: frame of round 0, the server is between rounds",
                "stranger NOT_DUE: client 7 is not in round 0",
                "other round NOT_DUE: frame of round 1, the server is in round 0",
                "c0 a0 s1 m0 NOT_DUE: client 0 sent step 1 micro-batch 0, the server is at step 0 micro-batch 0",
                "c0 a0 s0 m0 NOT_DUE: client 0 sent twice before a reply"), effects.refused);
        assertThrows(IllegalStateException.class, scheduler::close, "client 1 never sent");
        assertEquals(List.of("0/0 [0, 1] end [c0 a0 s0 m0, c1 a0 s0 m0]"), send(new Slot(1, 0, 0, 0, 0, 1)));
        scheduler.close();
    }

    @Test
    void aPipelinedClientSendsItsMicroBatchesInOrderAndAtMostDepthAhead() {
        scheduler = new LockStepScheduler<>(Duration.ofSeconds(10), 2, effects);
        scheduler.open(new Turn(0, 0, 1, Set.of(0, 1)));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 0, 3)));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 2, 3)), "skips micro-batch 1");
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 1, 3)));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 2, 3)), "a third before a reply");
        // client 1's first fills group 0/0; client 0's queued micro-batch 1 then waits for client 1's
        assertEquals(List.of("0/0 [0, 1] [c0 a0 s0 m0, c1 a0 s0 m0]"), send(new Slot(1, 0, 0, 0, 0, 3)));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 2, 3)));
        assertEquals(List.of("0/1 [0, 1] [c0 a0 s0 m1, c1 a0 s0 m1]"), send(new Slot(1, 0, 0, 0, 1, 3)));
        assertEquals(List.of("0/2 [0, 1] end [c0 a0 s0 m2, c1 a0 s0 m2]"), send(new Slot(1, 0, 0, 0, 2, 3)));
        assertEquals(List.of(
                "c0 a0 s0 m2 NOT_DUE: client 0 sent step 0 micro-batch 2, the server is at step 0 micro-batch 0"
                        + " and has its micro-batches up to 0 queued",
                "c0 a0 s0 m2 NOT_DUE: client 0 sent more than 2 micro-batches (split.pipelineDepth) before a reply"),
                effects.refused);
        scheduler.close();
    }

    @Test
    void aMicroBatchThatContradictsItsStepsAnnouncedCountIsRefused() {
        scheduler = new LockStepScheduler<>(Duration.ofSeconds(10), 2, effects);
        scheduler.open(new Turn(0, 0, 1, Set.of(0, 1)));
        send(new Slot(0, 0, 0, 0, 0, 2));
        assertEquals(List.of(), send(new Slot(0, 0, 0, 0, 1, 3)));
        assertEquals(List.of("c0 a0 s0 m1 NOT_DUE: client 0 announced 2 micro-batches for step 0, its micro-batch 1 says 3"),
                effects.refused);
    }

    @Test
    void aGroupOfFramesSentAheadWaitsFromWhenTheCursorReachesIt() {
        scheduler = new LockStepScheduler<>(Duration.ofSeconds(10), 2, effects);
        scheduler.open(new Turn(0, 0, 1, Set.of(0, 1)));
        send(new Slot(0, 0, 0, 0, 0, 2), 0);
        send(new Slot(0, 0, 0, 0, 1, 2), 0);
        long later = Duration.ofSeconds(8).toNanos();
        assertEquals(1, send(new Slot(1, 0, 0, 0, 0, 2), later).size());
        // client 0's micro-batch 1 arrived at 0, but its group waits from `later`
        scheduler.expire(later + Duration.ofSeconds(10).toNanos());
        assertEquals(List.of(), effects.refused);
        scheduler.expire(later + Duration.ofSeconds(10).toNanos() + 1);
        assertEquals(List.of("c0 a0 s0 m1 TIMED_OUT: step 0: no activations from client(s) [1] within split.stepTimeout PT10S"),
                effects.refused);
    }

    @Test
    void aNewerStageAttemptRollsBackAndRestartsTheTurn() {
        scheduler.open(new Turn(2, 10, 2, Set.of(0, 1)));
        send(new Slot(0, 2, 0, 10, 0, 1));
        assertEquals(1, send(new Slot(1, 2, 0, 10, 0, 1)).size());
        send(new Slot(0, 2, 0, 11, 0, 1));
        // Spark retried the stage: attempt 1 starts over at the turn's first step
        assertEquals(List.of(), send(new Slot(1, 2, 1, 10, 0, 1)));
        assertEquals(1, effects.rollBacks);
        assertEquals(List.of("c0 a0 s11 m0 ATTEMPT_ABORTED: round 3 restarted as attempt 1"), effects.refused);
        assertFalse(scheduler.admit("zombie", new Slot(0, 2, 0, 11, 0, 1)));
        assertEquals("zombie NOT_DUE: stage attempt 0 was superseded by attempt 1", effects.refused.get(1));
        // a straggler of attempt 0 that goes away cannot break attempt 1
        scheduler.disconnected(t -> t.equals("zombie"), 0, 0);
        assertEquals(List.of("10/0 [0, 1] end [c0 a1 s10 m0, c1 a1 s10 m0]"), send(new Slot(0, 2, 1, 10, 0, 1)));
        send(new Slot(0, 2, 1, 11, 0, 1));
        send(new Slot(1, 2, 1, 11, 0, 1));
        scheduler.close();
        assertEquals(2, effects.refused.size());
    }

    @Test
    void aClientLeavingBeforeItsLastStepBreaksTheAttempt() {
        scheduler.open(new Turn(0, 0, 2, Set.of(0, 1, 2)));
        send(new Slot(0, 0, 0, 0, 0, 1));
        send(new Slot(1, 0, 0, 0, 0, 1));
        scheduler.disconnected(t -> t.startsWith("c2 "), 2, 0);
        assertEquals(List.of("c0 a0 s0 m0 ATTEMPT_ABORTED: client 2 left round 1",
                "c1 a0 s0 m0 ATTEMPT_ABORTED: client 2 left round 1"), effects.refused);
        assertFalse(scheduler.admit("late", new Slot(2, 0, 0, 0, 0, 1)));
        assertEquals("late NOT_DUE: stage attempt 0 of round 0 failed (a client left or its task failed)", effects.refused.get(2));
        // Spark's report of the failed task comes after: the attempt is already broken
        scheduler.abort(0, 0, 0, "task lost");
        assertEquals(3, effects.refused.size());
        // attempt 1 completes; a client that leaves after its last step breaks nothing
        for (int step = 0; step < 2; step++) {
            for (int c = 0; c < 3; c++) {
                send(new Slot(c, 0, 1, step, 0, 1));
            }
        }
        scheduler.disconnected(t -> true, 1, 1);
        scheduler.close();
        assertEquals(3, effects.refused.size());
        assertEquals(1, effects.rollBacks);
    }

    @Test
    void sparkReportsAFailedTaskOfTheCurrentAttempt() {
        scheduler.open(new Turn(4, 8, 1, Set.of(0, 1)));
        send(new Slot(0, 4, 0, 8, 0, 1));
        scheduler.abort(4, 0, 0, "another turn");
        scheduler.abort(3, 8, 0, "another round");
        assertEquals(List.of(), effects.refused);
        scheduler.abort(4, 8, 0, "a client task failed: boom");
        assertEquals(List.of("c0 a0 s8 m0 ATTEMPT_ABORTED: round 5 attempt 0: a client task failed: boom"), effects.refused);
    }

    @Test
    void aGroupThatDoesNotFillInTimeIsRefused() {
        scheduler.open(new Turn(0, 0, 1, Set.of(0, 1, 2)));
        String t = "c1";
        Slot s = new Slot(1, 0, 0, 0, 0, 1);
        assertTrue(scheduler.admit(t, s));
        assertTrue(scheduler.enqueue(t, s, 1_000));
        assertNull(scheduler.next());
        scheduler.expire(1_000 + Duration.ofSeconds(10).toNanos());
        assertEquals(List.of(), effects.refused, "at the limit");
        scheduler.expire(1_001 + Duration.ofSeconds(10).toNanos());
        assertEquals(List.of("c1 TIMED_OUT: step 0: no activations from client(s) [0, 2] within split.stepTimeout PT10S"),
                effects.refused);
        assertEquals(List.of(), scheduler.drain());
    }
}
