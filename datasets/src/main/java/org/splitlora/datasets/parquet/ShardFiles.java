package org.splitlora.datasets.parquet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;

/**
 * Tidies what Spark wrote and describes it. Spark names part files with a per-job UUID and
 * parquet-mr orders some footer lists differently in every JVM; renaming the files to
 * {@code part-NNNNN.snappy.parquet} (in Spark's order) with a canonical footer makes two runs
 * with the same seed produce byte-identical trees, which is what the manifest hash promises.
 */
public final class ShardFiles {

    /** One data file of a prepared dataset, as listed in the manifest. */
    public record ShardFile(String path, long rows, long bytes, String sha256) {}

    private ShardFiles() {}

    /** Gives part files stable names and canonical footers, and removes Spark's {@code _SUCCESS} markers, under {@code dir}. */
    public static void normalise(FileSystem fs, Path dir) throws IOException {
        List<FileStatus> parts = new ArrayList<>();
        for (FileStatus s : fs.listStatus(dir)) {
            String name = s.getPath().getName();
            if (s.isDirectory()) {
                normalise(fs, s.getPath());
            } else if (name.equals("_SUCCESS")) {
                fs.delete(s.getPath(), false);
            } else if (name.startsWith("part-")) {
                parts.add(s);
            }
        }
        parts.sort((a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
        for (int i = 0; i < parts.size(); i++) {
            Path p = parts.get(i).getPath();
            String suffix = p.getName().endsWith(".snappy.parquet") ? ".snappy.parquet" : ".parquet";
            Path target = new Path(dir, String.format("part-%05d%s", i, suffix));
            CanonicalFooter.copy(fs, p, target);
            fs.delete(p, false);
        }
    }

    /** Every Parquet file under {@code root}, paths relative to it, sorted, with row counts from the footers. */
    public static List<ShardFile> describe(FileSystem fs, Path root, Configuration conf) throws IOException {
        List<ShardFile> out = new ArrayList<>();
        Path qualified = fs.makeQualified(root);
        collect(fs, qualified, qualified, conf, out);
        out.sort((a, b) -> a.path().compareTo(b.path()));
        return out;
    }

    private static void collect(FileSystem fs, Path root, Path dir, Configuration conf, List<ShardFile> out)
            throws IOException {
        for (FileStatus s : fs.listStatus(dir)) {
            if (s.isDirectory()) {
                collect(fs, root, s.getPath(), conf, out);
            } else if (s.getPath().getName().endsWith(".parquet")) {
                long rows;
                try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromStatus(s, conf))) {
                    rows = r.getRecordCount();
                }
                String rel = root.toUri().relativize(s.getPath().toUri()).getPath();
                out.add(new ShardFile(rel, rows, s.getLen(), sha256(fs, s.getPath())));
            }
        }
    }

    /** The SHA-256 of a file, hex, as the manifest records it. */
    public static String sha256(FileSystem fs, Path p) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(fs.open(p), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
