package org.splitlora.model.weights;

import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.util.Directories;

/**
 * Model directories named by a Hadoop URI ({@code hdfs://}, {@code s3a://}, {@code file:}...): the
 * directory's files are copied through the Hadoop FileSystem API into a local cache
 * ({@code -Dsplitlora.model.cache}, default {@code $TMPDIR/splitlora-models}), where safetensors
 * are memory-mapped. Each JVM (each executor) checks its copy against the source once, on first use.
 *
 * <p>A copy is used only while its stamp, the size and modification time of every source file,
 * written last, equals the source's; otherwise it is made again. A copy is built in a staging
 * directory and renamed into place, so a killed copy is never used. Whoever can write to the cache
 * chooses the weights that load, so it must be a directory of the current user that no one else
 * may write to (it is created 0700).
 */
public final class RemoteModels {

    private static final Logger LOG = LoggerFactory.getLogger(RemoteModels.class);
    private static final Map<String, Path> COPIES = new ConcurrentHashMap<>();
    static final String STAMP = ".splitlora-stamp";

    private RemoteModels() {}

    /** True for a model spec that names a Hadoop filesystem URI rather than a local path. */
    public static boolean isUri(String spec) {
        return spec.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !spec.matches("^[a-zA-Z]:\\\\.*");
    }

    /** The local copy of the model directory at {@code uri}, checked or made on first use. */
    public static Path localCopy(String uri) {
        return COPIES.computeIfAbsent(uri, u -> copy(u, Path.of(System.getProperty("splitlora.model.cache",
                Path.of(System.getProperty("java.io.tmpdir"), "splitlora-models").toString()))));
    }

    /** A source file as the stamp records it. */
    private record FileStamp(long size, long modified) {}

    /** The copy under {@code cache} of the model directory at {@code uri}, made again if its source changed. */
    static Path copy(String uri, Path cache) {
        try {
            checkOwnCache(cache);
            org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(URI.create(uri));
            FileSystem fs = dir.getFileSystem(new Configuration());
            if (!fs.getFileStatus(dir).isDirectory()) {
                throw new ModelLoadException(uri + ": not a model directory");
            }
            List<FileStatus> files = new ArrayList<>();
            Map<String, FileStamp> stamp = new TreeMap<>();
            for (FileStatus f : fs.listStatus(dir)) {
                if (f.isFile()) {
                    files.add(f);
                    stamp.put(f.getPath().getName(), new FileStamp(f.getLen(), f.getModificationTime()));
                }
            }
            Path target = cache.resolve(sha256(uri).substring(0, 16));
            if (Files.isDirectory(target)) {
                String change = change(readStamp(target), stamp);
                if (change == null) {
                    return target;
                }
                LOG.info("refreshing cached copy of {}: {}", uri, change);
            }
            Path staging = Files.createTempDirectory(cache, target.getFileName() + ".partial-");
            try {
                for (FileStatus f : files) {
                    String name = f.getPath().getName();
                    long copied;
                    try (InputStream in = fs.open(f.getPath())) {
                        copied = Files.copy(in, staging.resolve(name));
                    }
                    if (copied != f.getLen()) {
                        throw new ModelLoadException(uri + ": " + name + " changed while it was copied (" + copied
                                + " bytes, listed with " + f.getLen() + ")");
                    }
                }
                writeStamp(staging, stamp);
                install(staging, target, stamp);
            } finally {
                Directories.deleteTree(staging);
            }
            return target;
        } catch (java.io.FileNotFoundException e) {
            throw new ModelLoadException(uri + ": model directory not found");
        } catch (IOException | IllegalArgumentException e) {
            throw new ModelLoadException(uri + ": cannot copy the model: " + e.getMessage(), e);
        }
    }

    /**
     * Creates the cache with mode 0700, or checks that it is a directory (not a link) of this user
     * that neither group nor others may write to. Filesystems without POSIX attributes are taken as
     * they are.
     */
    private static void checkOwnCache(Path cache) throws IOException {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.createDirectories(cache);
            return;
        }
        if (!Files.exists(cache, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(cache.toAbsolutePath().getParent());
            try {
                Files.createDirectory(cache, PosixFilePermissions.asFileAttribute(
                        Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE)));
            } catch (FileAlreadyExistsException raced) {
                // another JVM made it first; checked below like any existing cache
            }
        }
        String refused = "model cache " + cache + " (-Dsplitlora.model.cache) ";
        if (!Files.isDirectory(cache, LinkOption.NOFOLLOW_LINKS)) {
            throw new ModelLoadException(refused + "is not a directory of its own (a link or a file)");
        }
        long owner = ((Number) Files.getAttribute(cache, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        long me = new UnixSystem().getUid();
        if (owner != me) {
            throw new ModelLoadException(refused + "belongs to uid " + owner + ", not to this user (uid " + me + ")");
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(cache, LinkOption.NOFOLLOW_LINKS);
        if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new ModelLoadException(refused + "may be written by group or others (" + PosixFilePermissions.toString(mode)
                    + "); chmod 700 it");
        }
    }

    /** What differs between a copy's stamp (null: none) and the source's, or null when nothing does. */
    private static String change(Map<String, FileStamp> copy, Map<String, FileStamp> source) {
        if (copy == null) {
            return "the copy has no stamp";
        }
        Set<String> names = new TreeSet<>(copy.keySet());
        names.addAll(source.keySet());
        for (String n : names) {
            if (!Objects.equals(copy.get(n), source.get(n))) {
                return n + (!copy.containsKey(n) ? " is new" : !source.containsKey(n) ? " is gone" : " changed");
            }
        }
        return null;
    }

    /** One line per file: size, modification time (ms), name. */
    private static void writeStamp(Path dir, Map<String, FileStamp> stamp) throws IOException {
        StringBuilder s = new StringBuilder();
        stamp.forEach((name, f) -> s.append(f.size()).append('\t').append(f.modified()).append('\t').append(name).append('\n'));
        Files.writeString(dir.resolve(STAMP), s, StandardCharsets.UTF_8);
    }

    /** A copy's stamp, or null if it has none or an unreadable one. */
    private static Map<String, FileStamp> readStamp(Path dir) throws IOException {
        Path file = dir.resolve(STAMP);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        Map<String, FileStamp> stamp = new TreeMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] f = line.split("\t", 3);
            try {
                stamp.put(f[2], new FileStamp(Long.parseLong(f[0]), Long.parseLong(f[1])));
            } catch (RuntimeException malformed) {
                return null;
            }
        }
        return stamp;
    }

    /**
     * Renames the finished copy to {@code target}, moving a stale copy out of the way first. If
     * another JVM of this user installed the same copy meanwhile, that one is kept.
     */
    private static void install(Path staging, Path target, Map<String, FileStamp> stamp) throws IOException {
        for (int tries = 0; ; tries++) {
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                return;
            } catch (IOException occupied) {
                if (!Files.exists(target) || tries == 2) {
                    throw occupied;
                }
            }
            if (stamp.equals(readStamp(target))) {
                return;
            }
            Path stale = Directories.stagingFor(target);
            try {
                Files.move(target, stale, StandardCopyOption.ATOMIC_MOVE);
            } catch (NoSuchFileException movedByAnother) {
                // another JVM moved it first
            }
            Directories.deleteTree(stale);
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
