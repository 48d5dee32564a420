package org.splitlora.federation;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.TaskKilled;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.StageInfo;
import org.splitlora.split.SplitServer;
import scala.collection.JavaConverters;

/**
 * Watches the barrier stage of the round job that runs now. When a client task fails, the split
 * server learns at once that the stage attempt is broken: it fails the clients waiting for the
 * group and refuses the attempt's later frames (Spark kills the other tasks without interrupting
 * them, so they would otherwise wait out split.stepTimeout, holding the slots the retry needs).
 * When the failure is a {@link ClientFailure}, no retry can help: the stage is cancelled and the
 * round ends with that failure instead of Spark re-running it spark.stage.maxConsecutiveAttempts times.
 */
final class RoundFailures extends SparkListener {

    private static final String JOB_PROPERTY = "splitlora.roundJob";

    private final SparkContext sc;
    private final SplitServer server;
    private final Set<Integer> barrierStages = ConcurrentHashMap.newKeySet();
    private volatile Watch current;
    private volatile String permanent;

    /** The round job being watched: the server's turn it belongs to. */
    private record Watch(String token, int round, int firstStep) {}

    /** @param server the split server, or null when the mode has none */
    RoundFailures(SparkContext sc, SplitServer server) {
        this.sc = sc;
        this.server = server;
    }

    /**
     * Runs the job of the server turn (round, firstStep); when a client task of it fails for good,
     * throws a {@link ClientFailure} naming the round, client and cause.
     */
    <T> T run(int round, int firstStep, Supplier<T> job) {
        Watch w = new Watch(round + ":" + firstStep + ":" + System.nanoTime(), round, firstStep);
        permanent = null;
        barrierStages.clear();
        current = w;
        sc.setLocalProperty(JOB_PROPERTY, w.token());
        try {
            return job.get();
        } catch (Exception e) { // a failed job is a SparkException, which Scala throws unchecked
            String why = permanent;
            if (why != null) {
                throw new ClientFailure("round " + (round + 1) + ": " + why + " (a retry cannot fix this, so the round was not re-run)", e);
            }
            throw e;
        } finally {
            sc.setLocalProperty(JOB_PROPERTY, null);
            current = null;
        }
    }

    @Override
    public void onJobStart(SparkListenerJobStart e) {
        Watch w = current;
        if (w == null || e.properties() == null || !w.token().equals(e.properties().getProperty(JOB_PROPERTY))) {
            return;
        }
        for (StageInfo s : JavaConverters.seqAsJavaList(e.stageInfos())) {
            if (JavaConverters.seqAsJavaList(s.rddInfos()).stream().anyMatch(r -> r.isBarrier())) {
                barrierStages.add(s.stageId());
            }
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        Watch w = current;
        if (w == null || !barrierStages.contains(e.stageId()) || !(e.reason() instanceof TaskFailedReason failed)
                || failed instanceof TaskKilled) {
            return; // killed tasks are the consequence of a failure already seen
        }
        String cause = firstLine(failed.toErrorString());
        if (server != null) {
            server.abortAttempt(w.round(), w.firstStep(), e.stageAttemptId(), "a client task failed: " + cause);
        }
        if (failed instanceof ExceptionFailure f && f.className().equals(ClientFailure.class.getName()) && permanent == null) {
            permanent = f.description();
            sc.cancelStage(e.stageId(), permanent);
        }
    }

    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }
}
