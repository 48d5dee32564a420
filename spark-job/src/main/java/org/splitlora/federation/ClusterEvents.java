package org.splitlora.federation;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the user what the cluster did to a run: executors joining and leaving, and round stages
 * that failed and are re-run. Spark logs these at INFO among much else; a lost worker in the
 * middle of a round otherwise shows only as a slow round.
 */
final class ClusterEvents extends SparkListener {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterEvents.class);
    /** Spark posts a completion per failed barrier task; one line per failed stage attempt is enough. */
    private final Set<String> failedAttempts = ConcurrentHashMap.newKeySet();

    @Override
    public void onExecutorAdded(SparkListenerExecutorAdded e) {
        LOG.info("executor {} joined on {} with {} cores", e.executorId(), e.executorInfo().executorHost(),
                e.executorInfo().totalCores());
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        LOG.warn("executor {} lost ({}); the client tasks it ran fail and Spark re-runs that round's stage on the "
                + "remaining executors, the split server rolling back to the round's start", e.executorId(), e.reason());
    }

    @Override
    public void onStageCompleted(SparkListenerStageCompleted e) {
        StageInfo s = e.stageInfo();
        if (s.failureReason().isDefined() && failedAttempts.add(s.stageId() + ":" + s.attemptNumber())) {
            LOG.warn("stage {} (attempt {}) failed: {} (Spark re-runs a failed stage up to "
                    + "spark.stage.maxConsecutiveAttempts times)", s.stageId(), s.attemptNumber(), firstLine(s.failureReason().get()));
        }
    }

    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }
}
