package org.splitlora.datasets.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;

/** A local Spark session for the tests, and checks that a prepared directory is what its manifest says. */
final class PrepareTestSupport {

    private PrepareTestSupport() {}

    static SparkSession spark() {
        return SparkSession.builder()
                .master("local[2]")
                .appName("splitlora-datasets-test")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
    }

    static Manifest manifest(SparkSession spark, Path dir) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir.toUri());
        return Manifest.read(FileSystem.get(p.toUri(), spark.sparkContext().hadoopConfiguration()), p);
    }

    /**
     * The manifest lists exactly the Parquet files on disk, with their true SHA-256 and the row
     * counts Spark reads back; client and split totals agree with the files.
     */
    static void assertManifestMatchesFiles(SparkSession spark, Path dir, Manifest m) throws Exception {
        Set<String> onDisk = new TreeSet<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(p -> p.toString().endsWith(".parquet")).forEach(p -> onDisk.add(dir.relativize(p).toString()));
        }
        Set<String> listed = new TreeSet<>();
        for (var f : m.files) {
            listed.add(f.path());
            Path file = dir.resolve(f.path());
            assertEquals(sha256(file), f.sha256(), f.path());
            assertEquals(Files.size(file), f.bytes(), f.path());
            assertEquals(spark.read().parquet(file.toString()).count(), f.rows(), f.path());
        }
        assertEquals(onDisk, listed, "files on disk vs manifest");
        for (var c : m.clients) {
            Path clientDir = dir.resolve("train/client_id=" + c.clientId);
            assertTrue(Files.isDirectory(clientDir), clientDir.toString());
            assertEquals(c.examples, spark.read().parquet(clientDir.toString()).count(), "client " + c.clientId);
        }
        for (var e : m.splits.entrySet()) {
            assertEquals(e.getValue().examples, spark.read().parquet(dir.resolve(e.getKey()).toString()).count(),
                    e.getKey());
        }
        assertEquals(DatasetPreparer.contentHash(m.files), m.contentHash);
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            md.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static List<Path> parquetFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".parquet")).sorted().toList();
        }
    }
}
