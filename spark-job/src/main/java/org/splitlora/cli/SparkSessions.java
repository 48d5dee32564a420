package org.splitlora.cli;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session a command runs in. Under {@code spark-submit} the master and settings come
 * from there; run from the launcher, it is {@code local[*]} (or {@code --master}) with the UI
 * off and shuffle partitions sized to the cores.
 */
final class SparkSessions {

    private SparkSessions() {}

    static SparkSession create(String appName, String master) {
        return create(appName, master, "local[*]");
    }

    /** As {@link #create(String, String)} with {@code localDefault} as the master when none is given. */
    static SparkSession create(String appName, String master, String localDefault) {
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
