package org.splitlora.federation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.config.TrainConfig.DataVerify;
import org.splitlora.datasets.parquet.ShardFiles;
import org.splitlora.datasets.parquet.ShardFiles.ShardFile;
import org.splitlora.datasets.parquet.ShardSchema;
import org.splitlora.datasets.prepare.Manifest;

/**
 * Checks a prepared dataset's files against its manifest on the driver, before round 1. Without
 * it a missing client shard shows only inside a round (an empty client task, which Spark re-runs
 * as a barrier stage until it gives up) and a replaced file trains silently. Compares the data
 * files Spark would read (names not starting with {@code .} or {@code _}) with manifest.json's
 * list: none missing, none extra, the same sizes and, with {@code data.verify = hash}, the same
 * SHA-256. The first difference fails the run with one line naming the file and its client.
 */
public final class ShardCheck {

    private static final Logger LOG = LoggerFactory.getLogger(ShardCheck.class);
    /** Hashing threads on the driver: reads of a remote filesystem overlap, local files use the cores. */
    private static final int THREADS = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));

    private ShardCheck() {}

    /** Checks the dataset at {@code dir} (any Hadoop path); an {@link IllegalArgumentException} names the first difference. */
    public static void verify(String dir, Manifest manifest, DataVerify how, Configuration hadoop) {
        long t0 = System.nanoTime();
        try {
            Path root = new Path(dir);
            FileSystem fs = root.getFileSystem(hadoop);
            root = fs.makeQualified(root);
            Map<String, FileStatus> found = new TreeMap<>();
            for (String top : topDirectories(manifest)) {
                collect(fs, root, new Path(root, top), found);
            }
            Map<String, ShardFile> listed = new TreeMap<>();
            for (ShardFile f : manifest.files) {
                listed.put(f.path(), f);
            }
            for (Manifest.ClientStats c : manifest.clients) {
                String shard = "train/" + ShardSchema.CLIENT_ID + "=" + c.clientId + "/";
                if (found.keySet().stream().noneMatch(p -> p.startsWith(shard))) {
                    throw problem(dir, "client " + c.clientId + " has no data: " + shard + " is missing or empty ("
                            + listed.keySet().stream().filter(p -> p.startsWith(shard)).count() + " files in manifest.json)");
                }
            }
            long bytes = 0;
            for (ShardFile f : listed.values()) {
                FileStatus s = found.get(f.path());
                if (s == null) {
                    throw problem(dir, f.path() + " (" + owner(f.path()) + ") is missing");
                }
                if (s.getLen() != f.bytes()) {
                    throw problem(dir, f.path() + " (" + owner(f.path()) + ") has " + s.getLen() + " bytes, manifest.json records "
                            + f.bytes());
                }
                bytes += f.bytes();
            }
            for (String p : found.keySet()) {
                if (!listed.containsKey(p)) {
                    throw problem(dir, p + " (" + owner(p) + ") is not in manifest.json, yet Spark would read it");
                }
            }
            if (how == DataVerify.HASH) {
                Map<String, String> hashes = sha256(fs, found);
                for (ShardFile f : listed.values()) {
                    String h = hashes.get(f.path());
                    if (!h.equals(f.sha256())) {
                        throw problem(dir, f.path() + " (" + owner(f.path()) + ") differs from manifest.json: sha256 "
                                + h.substring(0, 12) + "…, recorded " + f.sha256().substring(0, 12) + "…");
                    }
                }
            }
            LOG.info("data.dir {}: {} files ({} MB) match manifest.json by {} in {} s", dir, listed.size(),
                    bytes / 1_000_000, how == DataVerify.HASH ? "size and sha256" : "size", (System.nanoTime() - t0) / 1_000_000 / 1e3);
        } catch (IOException e) {
            throw new UncheckedIOException("data.dir " + dir + ": " + e.getMessage(), e);
        }
    }

    /** train/ and the held-out splits: where Spark reads data files. */
    private static List<String> topDirectories(Manifest manifest) {
        List<String> tops = new ArrayList<>(List.of("train"));
        if (manifest.splits != null) {
            tops.addAll(manifest.splits.keySet());
        }
        return tops;
    }

    private static void collect(FileSystem fs, Path root, Path dir, Map<String, FileStatus> out) throws IOException {
        if (!fs.exists(dir)) {
            return;
        }
        for (FileStatus s : fs.listStatus(dir)) {
            String name = s.getPath().getName();
            if (name.startsWith(".") || name.startsWith("_")) {
                continue; // hidden from Spark's file listing (checksums, markers)
            }
            if (s.isDirectory()) {
                collect(fs, root, s.getPath(), out);
            } else {
                out.put(root.toUri().relativize(s.getPath().toUri()).getPath(), s);
            }
        }
    }

    private static Map<String, String> sha256(FileSystem fs, Map<String, FileStatus> files) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "shard-check");
            t.setDaemon(true);
            return t;
        });
        try {
            Map<String, Future<String>> pending = new TreeMap<>();
            files.forEach((p, s) -> pending.put(p, pool.submit(() -> ShardFiles.sha256(fs, s.getPath()))));
            Map<String, String> out = new TreeMap<>();
            for (Map.Entry<String, Future<String>> e : pending.entrySet()) {
                out.put(e.getKey(), e.getValue().get());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while hashing the shards", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Whose file it is: "client N" for train/client_id=N/…, else its split. */
    private static String owner(String path) {
        String prefix = "train/" + ShardSchema.CLIENT_ID + "=";
        if (path.startsWith(prefix)) {
            int end = path.indexOf('/', prefix.length());
            return "client " + path.substring(prefix.length(), end < 0 ? path.length() : end);
        }
        return path.substring(0, Math.max(0, path.indexOf('/'))) + " split";
    }

    private static IllegalArgumentException problem(String dir, String what) {
        return new IllegalArgumentException("data.dir " + dir + ": " + what + "; re-run prepare or restore the file");
    }
}
