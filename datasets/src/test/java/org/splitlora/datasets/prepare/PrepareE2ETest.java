package org.splitlora.datasets.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.tokenize.TokenizerSpec;

/** {@code prepare} on the real E2E training set, for 3 and 10 clients and every partitioner. */
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

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static Path trainset() {
        return PrepareTestSupport.fixtures().resolve("e2e/trainset.csv");
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
        long onDisk = spark.read().parquet(out.resolve("train").toString()).count()
                + spark.read().parquet(out.resolve("valid").toString()).count();
        assertEquals(c.records - c.rejected, onDisk);
        System.out.printf("prepare e2e %d clients %s: %d records in %.1f s (%.0f rows/s), rejected %d, truncated %d%n",
                clients, method, r.recordsRead(), r.seconds(), r.recordsPerSecond(), c.rejected, c.truncated);
    }
}
