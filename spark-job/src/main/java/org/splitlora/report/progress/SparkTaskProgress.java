package org.splitlora.report.progress;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Drives a {@link Progress} from the Spark jobs run while it is attached: each submitted stage
 * adds its tasks to the total, each successful task counts one. Spark's listener bus calls it
 * asynchronously, so the count may lag the jobs by a moment.
 */
public final class SparkTaskProgress extends SparkListener implements AutoCloseable {

    private final SparkContext sc;
    private final Progress progress;

    private SparkTaskProgress(SparkContext sc, Progress progress) {
        this.sc = sc;
        this.progress = progress;
    }

    public static SparkTaskProgress attach(SparkContext sc, Progress progress) {
        SparkTaskProgress p = new SparkTaskProgress(sc, progress);
        sc.addSparkListener(p);
        return p;
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
        progress.addTotal(e.stageInfo().numTasks());
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        if (e.taskInfo().successful()) {
            progress.advance(1);
        }
    }

    /** Detaches, after giving the listener bus a moment to deliver the last task ends of finished jobs. */
    @Override
    public void close() {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (!progress.complete() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        sc.removeSparkListener(this);
        progress.close();
    }
}
