package org.splitlora.model.weights;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * Model directories named by a Hadoop URI ({@code hdfs://}, {@code s3a://}, {@code file:}...): the
 * directory's files are copied once per JVM (per executor) through the Hadoop FileSystem API into
 * a local cache, where safetensors are memory-mapped. A copy is complete when its marker exists,
 * so a copy interrupted by a kill is redone, never used.
 */
public final class RemoteModels {

    private static final Map<String, Path> COPIES = new ConcurrentHashMap<>();
    private static final String COMPLETE = ".splitlora-complete";

    private RemoteModels() {}

    /** True for a model spec that names a Hadoop filesystem URI rather than a local path. */
    public static boolean isUri(String spec) {
        return spec.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !spec.matches("^[a-zA-Z]:\\\\.*");
    }

    /** The local copy of the model directory at {@code uri}, made on first use. */
    public static Path localCopy(String uri) {
        return COPIES.computeIfAbsent(uri, RemoteModels::copy);
    }

    private static Path copy(String uri) {
        Path cache = Path.of(System.getProperty("splitlora.model.cache",
                Path.of(System.getProperty("java.io.tmpdir"), "splitlora-models").toString()));
        Path target = cache.resolve(sha256(uri).substring(0, 16));
        if (Files.exists(target.resolve(COMPLETE))) {
            return target;
        }
        try {
            org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(URI.create(uri));
            FileSystem fs = dir.getFileSystem(new Configuration());
            if (!fs.getFileStatus(dir).isDirectory()) {
                throw new ModelLoadException(uri + ": not a model directory");
            }
            Path staging = Files.createDirectories(cache).resolve(target.getFileName() + ".partial-" + ProcessHandle.current().pid());
            Files.createDirectories(staging);
            for (FileStatus f : fs.listStatus(dir)) {
                if (f.isFile()) {
                    try (InputStream in = fs.open(f.getPath())) {
                        Files.copy(in, staging.resolve(f.getPath().getName()), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            Files.writeString(staging.resolve(COMPLETE), uri, StandardCharsets.UTF_8);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // another JVM on this host finished the same copy first; use it
                if (!Files.exists(target.resolve(COMPLETE))) {
                    throw raced;
                }
            }
            return target;
        } catch (java.io.FileNotFoundException e) {
            throw new ModelLoadException(uri + ": model directory not found");
        } catch (IOException | IllegalArgumentException e) {
            throw new ModelLoadException(uri + ": cannot copy the model: " + e.getMessage(), e);
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
