package org.splitlora.store;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Set;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.splitlora.util.KillPoint;

/**
 * How a filesystem replaces a file whole, so that a reader or a kill sees the old bytes or the
 * new ones: rename a finished temporary file over it where renames are atomic (local disk, HDFS),
 * or write it in one request where the object only appears when complete (object stores, whose
 * renames are copies).
 */
interface FileReplace {

    void write(FileSystem fs, Path target, Path temporary, byte[] bytes) throws IOException;

    /** Object stores' schemes: a file appears whole when its upload completes, and rename is a copy. */
    Set<String> OBJECT_STORES = Set.of("s3a", "s3", "s3n", "gs", "oss", "cosn", "obs", "wasb", "wasbs");

    static FileReplace of(FileSystem fs) {
        if (OBJECT_STORES.contains(fs.getUri().getScheme())) {
            return (f, target, tmp, bytes) -> {
                try (OutputStream out = f.create(target, true)) {
                    out.write(bytes);
                }
            };
        }
        return (f, target, tmp, bytes) -> {
            try (OutputStream out = f.create(tmp, false)) {
                out.write(bytes);
            }
            KillPoint.reach("file.before-rename");
            try {
                if (f instanceof DistributedFileSystem dfs) {
                    dfs.rename(tmp, target, Options.Rename.OVERWRITE); // one atomic NameNode operation
                } else if (!f.getUri().getScheme().equals("file")) {
                    // another filesystem: its rename does not replace, so the old file goes first
                    f.delete(target, false);
                    rename(f, tmp, target);
                } else {
                    rename(f, tmp, target); // POSIX rename(2) replaces atomically
                }
            } catch (IOException | RuntimeException e) {
                f.delete(tmp, false);
                throw e;
            }
        };
    }

    private static void rename(FileSystem f, Path from, Path to) throws IOException {
        if (!f.rename(from, to)) {
            throw new IOException("cannot rename " + from + " to " + to);
        }
    }
}
