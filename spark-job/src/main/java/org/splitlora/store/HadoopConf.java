package org.splitlora.store;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;

/** The Hadoop configuration a command reads and writes run directories with, before (or without) a Spark session. */
public final class HadoopConf {

    private HadoopConf() {}

    /**
     * The cluster's files ({@code core-site.xml}, {@code hdfs-site.xml} on the classpath or in
     * {@code HADOOP_CONF_DIR}) plus every {@code spark.hadoop.*} property spark-submit passes, as
     * Spark's own sessions see them.
     */
    public static Configuration fromSpark() {
        Configuration conf = new Configuration();
        for (scala.Tuple2<String, String> kv : new SparkConf().getAllWithPrefix("spark.hadoop.")) {
            conf.set(kv._1(), kv._2());
        }
        return conf;
    }
}
