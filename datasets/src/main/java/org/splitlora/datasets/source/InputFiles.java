package org.splitlora.datasets.source;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

/**
 * Input files on any Hadoop filesystem ({@code file:}, {@code hdfs://}, {@code s3a://}, ...):
 * expands comma-separated paths, directories and globs into a sorted file list, and opens
 * files through the codec their extension names ({@code .gz}, {@code .bz2}, ...).
 */
public final class InputFiles {

    private InputFiles() {}

    /** The files named by {@code spec} (comma-separated paths, directories or globs), in a stable order. */
    public static List<String> expand(String spec, Configuration conf) {
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            try {
                Path path = new Path(p);
                FileSystem fs = path.getFileSystem(conf);
                FileStatus[] matches = fs.globStatus(path);
                if (matches == null || matches.length == 0) {
                    throw new IllegalArgumentException(p + ": no such file");
                }
                List<String> found = new ArrayList<>();
                for (FileStatus m : matches) {
                    if (m.isDirectory()) {
                        for (FileStatus f : fs.listStatus(m.getPath())) {
                            if (f.isFile() && !hidden(f.getPath())) {
                                found.add(f.getPath().toString());
                            }
                        }
                    } else {
                        found.add(m.getPath().toString());
                    }
                }
                if (found.isEmpty()) {
                    throw new IllegalArgumentException(p + ": directory has no files");
                }
                found.sort(Comparator.naturalOrder());
                out.addAll(found);
            } catch (IOException e) {
                throw new UncheckedIOException(p + ": " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no input files given");
        }
        return out;
    }

    /** Hidden and bookkeeping files ({@code _SUCCESS}, {@code .crc}) that are not data. */
    private static boolean hidden(Path p) {
        String n = p.getName();
        return n.startsWith(".") || n.startsWith("_");
    }

    /**
     * Opens a file as UTF-8 text, decompressing by extension. Malformed UTF-8 is an error naming
     * its line ({@link MalformedUtf8Exception}), not silently replaced.
     */
    public static BufferedReader open(String file, Configuration conf) throws IOException {
        Path path = new Path(file);
        FileSystem fs = path.getFileSystem(conf);
        if (!fs.exists(path)) {
            throw new FileNotFoundException(file + ": no such file");
        }
        InputStream in = fs.open(path);
        CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(path);
        if (codec != null) {
            in = codec.createInputStream(in);
        }
        return new BufferedReader(new Utf8Reader(in), 1 << 16);
    }
}
