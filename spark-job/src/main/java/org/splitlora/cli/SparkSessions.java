package org.splitlora.cli;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session a command runs in. Under {@code spark-submit} the master and settings come
 * from there; run from the launcher, it is {@code local[*]} (or {@code --master}) with the UI
 * off and shuffle partitions sized to the cores. A session that was already running (a caller's,
 * the demo's) is used as it is and left running: closing stops only a session made here.
 */
final class SparkSessions {

    private SparkSessions() {}

    /** A command's session, and whether the command made it (and so stops it on close). */
    record Session(SparkSession spark, boolean created) implements AutoCloseable {
        @Override
        public void close() {
            if (created) {
                spark.stop();
            }
        }
    }

    static Session open(String appName, String master) {
        return open(appName, master, "local[*]");
    }

    /** As {@link #open(String, String)} with {@code localDefault} as the master when none is given. */
    static Session open(String appName, String master, String localDefault) {
        boolean running = live(SparkSession.getActiveSession()) || live(SparkSession.getDefaultSession());
        return new Session(build(appName, master, localDefault), !running);
    }

    private static boolean live(scala.Option<SparkSession> s) {
        return s.isDefined() && !s.get().sparkContext().isStopped();
    }

    private static SparkSession build(String appName, String master, String localDefault) {
        SparkConf conf = new SparkConf(); // reads spark.* system properties set by spark-submit
        if (master != null) {
            conf.setMaster(master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster(localDefault);
        }
        conf.setIfMissing("spark.app.name", appName);
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.sql.shuffle.partitions", String.valueOf(2 * Runtime.getRuntime().availableProcessors()));
        }
        return SparkSession.builder().config(conf).getOrCreate();
    }
}
