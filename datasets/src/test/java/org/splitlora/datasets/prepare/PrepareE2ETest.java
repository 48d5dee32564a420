package org.splitlora.datasets.prepare;

import static org.apache.spark.sql.functions.avg;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.splitlora.datasets.parquet.ShardSchema;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.testutil.Fixtures;
import org.splitlora.datasets.tokenize.TokenizerSpec;

/**
 * {@code prepare} on the real E2E training set: shards for 3 and 10 clients with every partitioner,
 * how non-IID the Dirichlet partitions are, and reproducibility from the seed.
 */
@Tag("fixtures")
class PrepareE2ETest {

    static SparkSession spark;
    static long csvRows;

    @BeforeAll
    static void start() {
        spark = PrepareTestSupport.spark();
        // Independent count of the input: Spark's own CSV reader (univocity), not ours (commons-csv).
        csvRows = spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"")
                .csv(trainset().toString()).count();
    }

    static Path trainset() {
        return Fixtures.file("e2e/trainset.csv");
    }

    @ParameterizedTest
    @CsvSource({"3,iid", "3,dirichlet", "3,length-dirichlet", "10,iid", "10,dirichlet", "10,length-dirichlet"})
    void shardsAddUpToTheInputAndMatchTheManifest(int clients, String method, @TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("prepared");
        PartitionSpec spec = new PartitionSpec(PartitionMethod.parse(method), clients, 0.5, 10, 1, 1000, 42);
        SourceOptions source = new SourceOptions(SourceFormat.E2E, "eatType", null, null, null);
        DatasetPreparer.Result r = new DatasetPreparer(spark).run(
                PrepareOptions.builder(trainset().toString(), source, spec, out.toString())
                        .validFraction(0.02).maxLength(128).build(),
                TokenizerSpec.gpt2Bpe());
        Manifest m = r.manifest();
        Manifest.SourceCounts c = m.sources.get("train");
        assertEquals(csvRows, c.records, "records read vs Spark's CSV count");
        long inClients = m.clients.stream().mapToLong(x -> x.examples).sum();
        assertEquals(clients, m.clients.size());
        assertTrue(m.clients.stream().allMatch(x -> x.examples >= 1));
        assertEquals(c.records - c.rejected, inClients + m.splits.get("valid").examples);
        assertEquals(m.rejects.total, c.rejected);
        PrepareTestSupport.assertManifestMatchesFiles(spark, out, m);
        assertEquals(m.toJson(), PrepareTestSupport.manifest(spark, out).toJson(), "manifest.json reads back");
        long onDisk = spark.read().parquet(out.resolve("train").toString()).count()
                + spark.read().parquet(out.resolve("valid").toString()).count();
        assertEquals(c.records - c.rejected, onDisk);
        System.out.printf("prepare e2e %d clients %s: %d records in %.1f s (%.0f rows/s), rejected %d, truncated %d%n",
                clients, method, r.recordsRead(), r.seconds(), r.recordsPerSecond(), c.rejected, c.truncated);
    }

    /** Spread of the per-client mean length, relative to the overall mean (coefficient of variation). */
    static double meanLengthSpread(Path out) {
        List<Row> means = spark.read().parquet(out.resolve("train").toString())
                .groupBy(ShardSchema.CLIENT_ID).agg(avg(ShardSchema.LENGTH)).collectAsList();
        double[] m = means.stream().mapToDouble(r -> r.getDouble(1)).toArray();
        double mu = Arrays.stream(m).average().orElseThrow();
        return Math.sqrt(Arrays.stream(m).map(x -> (x - mu) * (x - mu)).average().orElseThrow()) / mu;
    }

    /** Largest total-variation distance between a client's label distribution and the pooled one. */
    static double maxLabelDistance(Manifest m) {
        Map<String, Long> pooled = new TreeMap<>();
        m.clients.forEach(c -> c.labelCounts.forEach((k, v) -> pooled.merge(k, v, Long::sum)));
        long total = pooled.values().stream().mapToLong(Long::longValue).sum();
        double worst = 0;
        for (Manifest.ClientStats c : m.clients) {
            double tv = 0;
            for (var e : pooled.entrySet()) {
                tv += Math.abs(c.labelCounts.getOrDefault(e.getKey(), 0L) / (double) c.examples
                        - e.getValue() / (double) total);
            }
            worst = Math.max(worst, tv / 2);
        }
        return worst;
    }

    private static Manifest prepare(Path out, PartitionMethod method, double alpha, long seed, String input)
            throws Exception {
        PartitionSpec spec = new PartitionSpec(method, 10, alpha, 10, 1, 1000, seed);
        SourceOptions source = new SourceOptions(SourceFormat.E2E, "food", null, null, null);
        return new DatasetPreparer(spark).run(
                PrepareOptions.builder(input, source, spec, out.toString()).maxLength(128).build(),
                TokenizerSpec.gpt2Bpe()).manifest();
    }

    @Test
    void lengthDirichletAlphaControlsHowDifferentClientLengthsAre(@TempDir Path tmp) throws Exception {
        String in = trainset().toString();
        double skewed = meanLengthSpread(write(tmp.resolve("a01"), PartitionMethod.LENGTH_DIRICHLET, 0.1, in));
        double even = meanLengthSpread(write(tmp.resolve("a100"), PartitionMethod.LENGTH_DIRICHLET, 100, in));
        System.out.printf("length-dirichlet client mean-length CV: alpha 0.1 -> %.4f, alpha 100 -> %.4f%n", skewed, even);
        assertTrue(skewed > 0.08, "alpha 0.1 should spread client mean lengths, CV " + skewed);
        assertTrue(even < 0.02, "alpha 100 should give near-identical client mean lengths, CV " + even);
    }

    @Test
    void labelDirichletAlphaControlsLabelSkew(@TempDir Path tmp) throws Exception {
        String in = trainset().toString();
        double skewed = maxLabelDistance(prepare(tmp.resolve("a01"), PartitionMethod.DIRICHLET, 0.1, 42, in));
        double even = maxLabelDistance(prepare(tmp.resolve("a100"), PartitionMethod.DIRICHLET, 100, 42, in));
        System.out.printf("dirichlet(food) max client TV distance: alpha 0.1 -> %.4f, alpha 100 -> %.4f%n", skewed, even);
        assertTrue(skewed > 0.4, "alpha 0.1 should skew client label mixes, TV " + skewed);
        assertTrue(even < 0.1, "alpha 100 should give near-identical label mixes, TV " + even);
    }

    @Test
    void sameSeedGivesByteIdenticalShardsAndOtherSeedsMoveExamples(@TempDir Path tmp) throws Exception {
        String dev = Fixtures.file("e2e/devset.csv").toString();
        Manifest a = prepare(tmp.resolve("a"), PartitionMethod.LENGTH_DIRICHLET, 0.5, 7, dev);
        Manifest b = prepare(tmp.resolve("b"), PartitionMethod.LENGTH_DIRICHLET, 0.5, 7, dev);
        Manifest c = prepare(tmp.resolve("c"), PartitionMethod.LENGTH_DIRICHLET, 0.5, 8, dev);
        assertEquals(a.contentHash, b.contentHash);
        List<Path> filesA = PrepareTestSupport.parquetFiles(tmp.resolve("a"));
        assertEquals(filesA.size(), PrepareTestSupport.parquetFiles(tmp.resolve("b")).size());
        for (Path f : filesA) {
            Path g = tmp.resolve("b").resolve(tmp.resolve("a").relativize(f));
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(g), f.toString());
        }
        assertNotEquals(a.contentHash, c.contentHash);
        Map<Long, Integer> clientA = clientOf(tmp.resolve("a"));
        Map<Long, Integer> clientC = clientOf(tmp.resolve("c"));
        assertEquals(clientA.keySet(), clientC.keySet());
        long moved = clientA.keySet().stream().filter(id -> !clientA.get(id).equals(clientC.get(id))).count();
        assertTrue(moved > clientA.size() / 2, "seed 8 should reassign most examples, moved " + moved);
    }

    private static Path write(Path out, PartitionMethod method, double alpha, String input) throws Exception {
        prepare(out, method, alpha, 42, input);
        return out;
    }

    private static Map<Long, Integer> clientOf(Path out) {
        Map<Long, Integer> m = new TreeMap<>();
        for (Row r : spark.read().parquet(out.resolve("train").toString())
                .select(ShardSchema.EXAMPLE_ID, ShardSchema.CLIENT_ID).collectAsList()) {
            m.put(r.getLong(0), r.getInt(1));
        }
        return m;
    }
}
