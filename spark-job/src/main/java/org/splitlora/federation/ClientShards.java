package org.splitlora.federation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.parquet.ShardSchema;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import org.splitlora.model.config.ModelConfig;
import scala.Tuple2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * A prepared dataset as the federation sees it: the training rows keyed and partitioned by
 * client (one Spark partition per client, cached where it was read, so a client's data stays on
 * its executor across rounds), the validation examples on the driver, and the manifest.
 */
public final class ClientShards {

    private final Manifest manifest;
    private final JavaPairRDD<Integer, TokenizedExample> train;
    private final Map<Integer, Integer> partitionOf;
    private final Map<Integer, Long> examples;
    private final List<TokenizedExample> valid;

    private ClientShards(Manifest manifest, JavaPairRDD<Integer, TokenizedExample> train, Map<Integer, Integer> partitionOf,
                         Map<Integer, Long> examples, List<TokenizedExample> valid) {
        this.manifest = manifest;
        this.train = train;
        this.partitionOf = partitionOf;
        this.examples = examples;
        this.valid = valid;
    }

    /**
     * Opens the dataset at {@code data.dir()} (any Hadoop path) and checks it was tokenized for this
     * model and that its files are the ones its manifest lists ({@link ShardCheck}).
     */
    public static ClientShards open(SparkSession spark, TrainConfig.Data data, ModelConfig model, TokenizerSpec tokenizer) {
        String dir = data.dir();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Manifest manifest = readManifest(dir, hadoop);
        checkTokenizer("data.dir " + dir, manifest, model, tokenizer);
        ShardCheck.verify(dir, manifest, data.verify(), hadoop);
        Map<Integer, Integer> partitionOf = new TreeMap<>();
        Map<Integer, Long> examples = new TreeMap<>();
        for (Manifest.ClientStats c : manifest.clients) {
            partitionOf.put(c.clientId, partitionOf.size());
            examples.put(c.clientId, c.examples);
        }
        JavaPairRDD<Integer, TokenizedExample> train = spark.read().parquet(new Path(dir, "train").toString()).javaRDD()
                .mapToPair(r -> new Tuple2<>(r.<Integer>getAs(ShardSchema.CLIENT_ID), ShardSchema.example(r)))
                .partitionBy(new ByClient(partitionOf))
                .persist(StorageLevel.MEMORY_AND_DISK());
        List<TokenizedExample> valid = manifest.splits != null && manifest.splits.containsKey("valid")
                ? readSplit(spark, dir, "valid", data.maxValidExamples()) : List.of();
        return new ClientShards(manifest, train, partitionOf, examples, valid);
    }

    /** Refuses a dataset ({@code what} names it) tokenized for a larger vocabulary than the model's or with another tokenizer. */
    public static void checkTokenizer(String what, Manifest manifest, ModelConfig model, TokenizerSpec tokenizer) {
        // real models pad their embeddings past the tokenizer (Qwen3: 151669 tokens, 151936 rows): only more
        // tokens than embedding rows cannot work
        if (manifest.tokenizer.vocabSize > model.vocabSize()) {
            throw new IllegalArgumentException(what + " was tokenized with a vocabulary of "
                    + manifest.tokenizer.vocabSize + ", larger than the model's " + model.vocabSize());
        }
        if (!manifest.tokenizer.sha256.equals(tokenizer.sha256())) {
            throw new IllegalArgumentException(what + " was tokenized with " + manifest.tokenizer.name
                    + " (sha256 " + manifest.tokenizer.sha256.substring(0, 12) + "…), not this model's tokenizer");
        }
    }

    /**
     * A held-out split ({@code valid}, {@code test}) of a prepared dataset, by example id; the first
     * {@code max} (0 = all). The validation split is what training evaluates on.
     */
    public static List<TokenizedExample> readSplit(SparkSession spark, String dir, String split, int max) {
        JavaRDD<Row> rows = spark.read().parquet(new Path(dir, split).toString()).orderBy(ShardSchema.EXAMPLE_ID).javaRDD();
        List<TokenizedExample> out = new ArrayList<>();
        for (Row r : max > 0 ? rows.take(max) : rows.collect()) {
            out.add(ShardSchema.example(r));
        }
        return out;
    }

    /** The manifest of the prepared dataset at {@code dir} (any Hadoop path). */
    public static Manifest readManifest(String dir, Configuration hadoop) {
        Path path = new Path(dir);
        try {
            FileSystem fs = path.getFileSystem(hadoop);
            return Manifest.read(fs, path);
        } catch (IOException e) {
            throw new UncheckedIOException("data.dir: " + e.getMessage(), e);
        }
    }

    public Manifest manifest() {
        return manifest;
    }

    public List<Integer> clientIds() {
        return List.copyOf(partitionOf.keySet());
    }

    /** Training examples of a client (its sample count for FedAvg weights). */
    public long examples(int client) {
        return examples.get(client);
    }

    public List<TokenizedExample> valid() {
        return valid;
    }

    /**
     * The given clients' data, one partition per client. All clients: the cached RDD itself. A
     * sample: those clients' rows re-partitioned (a barrier stage cannot prune partitions of its
     * parent, SPARK-24820, so the selection goes through a shuffle boundary).
     */
    public RDD<Tuple2<Integer, TokenizedExample>> forClients(List<Integer> clients) {
        if (clients.size() == partitionOf.size()) {
            return train.rdd();
        }
        Map<Integer, Integer> selected = new TreeMap<>();
        for (int c : clients) {
            if (!partitionOf.containsKey(c)) {
                throw new IllegalArgumentException("no client " + c + " in the data");
            }
            selected.put(c, selected.size());
        }
        return train.filter(t -> selected.containsKey(t._1())).partitionBy(new ByClient(selected)).rdd();
    }

    /** Every training example on the driver: by client id, each client's by example id (the centralized baseline's data). */
    public SortedMap<Integer, List<TokenizedExample>> collectByClient() {
        SortedMap<Integer, List<TokenizedExample>> out = new TreeMap<>();
        for (Tuple2<Integer, TokenizedExample> t : train.collect()) {
            out.computeIfAbsent(t._1(), c -> new ArrayList<>()).add(t._2());
        }
        out.values().forEach(examples -> examples.sort(Comparator.comparingLong(TokenizedExample::exampleId)));
        return out;
    }

    public void release() {
        train.unpersist(false);
    }

    static <T> ClassTag<T> tag(Class<T> c) {
        return ClassTag$.MODULE$.apply(c);
    }

    /** One partition per client id. */
    private static final class ByClient extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final Map<Integer, Integer> partitionOf;

        ByClient(Map<Integer, Integer> partitionOf) {
            this.partitionOf = new TreeMap<>(partitionOf);
        }

        @Override
        public int numPartitions() {
            return partitionOf.size();
        }

        @Override
        public int getPartition(Object key) {
            Integer p = partitionOf.get((Integer) key);
            if (p == null) {
                throw new IllegalStateException("client_id " + key + " is not in the manifest");
            }
            return p;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ByClient b && b.partitionOf.equals(partitionOf);
        }

        @Override
        public int hashCode() {
            return partitionOf.hashCode();
        }
    }
}
