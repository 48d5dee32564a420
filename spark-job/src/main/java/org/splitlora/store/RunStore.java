package org.splitlora.store;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.splitlora.util.Directories;
import org.splitlora.util.KillPoint;

/**
 * A run directory on any Hadoop filesystem (a local path, {@code file:}, {@code hdfs://},
 * {@code s3a://}, ...): everything a run writes and reads goes through here, so a run on a
 * cluster keeps its outputs when the driver's container goes.
 *
 * <p>Files are replaced whole ({@link #writeText}): readers and a kill see the old content or
 * the new, never a mix. Directories are built under a hidden staging name and swapped in
 * ({@link #publishDirectory}); {@link #recover} finishes or undoes a swap a kill interrupted.
 * Hidden names are {@code .NAME.staging-UUID}, {@code .NAME.old-UUID} and {@code
 * .NAME.tmp-UUID}: recovery only ever deletes entries of exactly that shape, which this class
 * wrote.
 */
public final class RunStore {

    private static final Pattern HIDDEN = Pattern.compile(
            "\\.(.+)\\.(staging|old|tmp)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final FileSystem fs;
    private final Path root;
    private final FileReplace replace;

    private RunStore(FileSystem fs, Path root) {
        this.fs = fs;
        this.root = root;
        this.replace = FileReplace.of(fs);
    }

    /**
     * The run directory at {@code location}: a URI, or a path of the default filesystem
     * ({@code fs.defaultFS}: the local one unless the cluster's configuration says otherwise).
     */
    public static RunStore at(String location, Configuration conf) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException("out: no run directory given");
        }
        try {
            Path p = new Path(location);
            FileSystem fs = p.getFileSystem(conf);
            if (fs instanceof LocalFileSystem local) {
                fs = local.getRawFileSystem(); // no .crc side files, and POSIX renames
            }
            return new RunStore(fs, fs.makeQualified(p));
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("out: " + location + ": " + e.getMessage(), e);
        }
    }

    /** The run directory at a local path. */
    public static RunStore at(java.nio.file.Path dir) {
        return at(dir.toAbsolutePath().toUri().toString(), new Configuration());
    }

    /** The qualified location, e.g. {@code hdfs://nn:8020/runs/x} or {@code file:/home/me/runs/x}. */
    public String location() {
        return root.toString();
    }

    /** The directory name, as reports title a run. */
    public String name() {
        return root.getName();
    }

    public Path path(String relative) {
        return relative.isEmpty() ? root : new Path(root, relative);
    }

    FileSystem fileSystem() {
        return fs;
    }

    /** This directory on local disk, where it is local (then writers may build files in place). */
    public Optional<java.nio.file.Path> localPath() {
        return fs.getUri().getScheme().equals("file") ? Optional.of(java.nio.file.Path.of(root.toUri())) : Optional.empty();
    }

    /** What {@code relative} names, or null when it does not exist. */
    public FileStatus status(String relative) {
        try {
            return fs.getFileStatus(path(relative));
        } catch (FileNotFoundException e) {
            return null;
        } catch (IOException e) {
            throw failure("cannot read", relative, e);
        }
    }

    public boolean exists(String relative) {
        return status(relative) != null;
    }

    public boolean isDirectory(String relative) {
        FileStatus s = status(relative);
        return s != null && s.isDirectory();
    }

    /** The names in directory {@code relative} (none when it does not exist). */
    public List<String> list(String relative) {
        List<String> names = new ArrayList<>();
        try {
            for (FileStatus s : fs.listStatus(path(relative))) {
                names.add(s.getPath().getName());
            }
        } catch (FileNotFoundException e) {
            return names;
        } catch (IOException e) {
            throw failure("cannot list", relative, e);
        }
        return names;
    }

    /** The text of file {@code relative}, if it exists. */
    public Optional<String> readText(String relative) {
        return readHead(relative, Integer.MAX_VALUE);
    }

    /** At most the first {@code maxBytes} bytes of file {@code relative}, as text, if it exists. */
    public Optional<String> readHead(String relative, int maxBytes) {
        try (InputStream in = fs.open(path(relative))) {
            return Optional.of(new String(in.readNBytes(maxBytes), StandardCharsets.UTF_8));
        } catch (FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw failure("cannot read", relative, e);
        }
    }

    /** Replaces file {@code relative} with {@code text} whole (see {@link FileReplace}). */
    public void writeText(String relative, String text) {
        writeBytes(relative, text.getBytes(StandardCharsets.UTF_8));
    }

    public void writeBytes(String relative, byte[] bytes) {
        Path target = path(relative);
        try {
            replace.write(fs, target, hidden(target, "tmp"), bytes);
        } catch (IOException e) {
            throw failure("cannot write", relative, e);
        }
    }

    /** Creates file {@code relative} holding {@code bytes} only if nothing is there: false when something is. */
    public boolean createExclusive(String relative, byte[] bytes) {
        Path target = path(relative);
        try {
            fs.mkdirs(target.getParent());
            if (localPath().isPresent()) {
                // O_EXCL: Hadoop's local create(overwrite=false) checks and creates in two steps
                Files.write(java.nio.file.Path.of(target.toUri()), bytes, java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE);
                return true;
            }
            try (OutputStream out = fs.create(target, false)) {
                out.write(bytes);
            }
            return true;
        } catch (java.nio.file.FileAlreadyExistsException | org.apache.hadoop.fs.FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            if (exists(relative)) {
                return false; // HDFS reports a racing creator's open file as AlreadyBeingCreated
            }
            throw failure("cannot create", relative, e);
        }
    }

    /** Renames {@code from} to {@code to} (both relative); false when {@code from} was gone. */
    public boolean rename(String from, String to) {
        try {
            return fs.rename(path(from), path(to));
        } catch (FileNotFoundException e) {
            return false;
        } catch (IOException e) {
            throw failure("cannot rename", from, e);
        }
    }

    /** Deletes {@code relative} (recursively): callers name only what the run wrote. */
    public void delete(String relative) {
        try {
            fs.delete(path(relative), true);
        } catch (IOException e) {
            throw failure("cannot delete", relative, e);
        }
    }

    public void touch(String relative, long millis) {
        try {
            fs.setTimes(path(relative), millis, -1);
        } catch (IOException e) {
            throw failure("cannot touch", relative, e);
        }
    }

    /** What builds a directory's files in a local folder. */
    @FunctionalInterface
    public interface DirectoryWriter {
        void writeTo(java.nio.file.Path dir) throws IOException;
    }

    /**
     * Writes directory {@code relative} whole: built under a hidden staging name (on local disk
     * in place, elsewhere in a local temporary folder then uploaded), then swapped in for the
     * previous one.
     */
    public void publishDirectory(String relative, DirectoryWriter writer) {
        Path target = path(relative);
        Path staging = hidden(target, "staging");
        try {
            fs.mkdirs(target.getParent());
            if (localPath().isPresent()) {
                writer.writeTo(java.nio.file.Path.of(staging.toUri()));
            } else {
                java.nio.file.Path local = Files.createTempDirectory("splitlora-stage");
                try {
                    writer.writeTo(local);
                    fs.copyFromLocalFile(false, true, new Path(local.toUri()), staging);
                } finally {
                    Directories.deleteTree(local);
                }
            }
            KillPoint.reach("publish.staged");
            swapIn(staging, target);
        } catch (IOException | RuntimeException e) {
            try {
                fs.delete(staging, true);
            } catch (IOException ignored) {
                // the staging copy is hidden, and recover() removes it next time
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw failure("cannot write", relative, (IOException) e);
        }
    }

    private void swapIn(Path staging, Path target) throws IOException {
        Path old = null;
        if (fs.exists(target)) {
            old = hidden(target, "old");
            rename(fs, target, old);
            KillPoint.reach("publish.between-renames");
        }
        rename(fs, staging, target);
        if (old != null) {
            fs.delete(old, true);
        }
    }

    /**
     * Finishes what a killed writer left in directory {@code relative}: a directory moved aside
     * whose replacement never arrived is moved back; staging copies and temporary files go.
     * Returns what it did, one line each (for the log).
     */
    public List<String> recover(String relative) {
        List<String> done = new ArrayList<>();
        Path dir = path(relative);
        for (String name : list(relative)) {
            Matcher m = HIDDEN.matcher(name);
            if (!m.matches()) {
                continue;
            }
            Path entry = new Path(dir, name);
            Path original = new Path(dir, m.group(1));
            try {
                if (m.group(2).equals("old") && !fs.exists(original)) {
                    rename(fs, entry, original);
                    done.add("restored " + original + " (a kill interrupted its replacement)");
                } else {
                    fs.delete(entry, true);
                    done.add("removed " + entry + " (left by an interrupted write)");
                }
            } catch (IOException e) {
                throw failure("cannot recover", relative + "/" + name, e);
            }
        }
        return done;
    }

    /** Copies file {@code relative} to local {@code file} (for readers that memory-map, such as safetensors). */
    public void copyToLocal(String relative, java.nio.file.Path file) {
        try (InputStream in = fs.open(path(relative))) {
            Files.copy(in, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw failure("cannot read", relative, e);
        }
    }

    private static void rename(FileSystem fs, Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("cannot rename " + from + " to " + to);
        }
    }

    private static Path hidden(Path target, String kind) {
        return new Path(target.getParent(), "." + target.getName() + "." + kind + "-" + UUID.randomUUID());
    }

    private UncheckedIOException failure(String what, String relative, IOException e) {
        return new UncheckedIOException(what + " " + path(relative) + ": " + e.getMessage(), e);
    }

    @Override
    public String toString() {
        return location();
    }
}
