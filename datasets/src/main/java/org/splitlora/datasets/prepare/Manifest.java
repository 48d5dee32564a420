package org.splitlora.datasets.prepare;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.splitlora.datasets.parquet.ShardFiles.ShardFile;

/**
 * {@code manifest.json} of a prepared dataset: where the data came from, how it was tokenized and
 * partitioned (seed included), what every client got, and every file with its row count and
 * SHA-256. {@link #contentHash} hashes the file list, so two preparations with the same inputs
 * and seed have the same hash. Holds no timestamps: the same run writes the same manifest.
 */
public final class Manifest {

    public static final String FILE_NAME = "manifest.json";
    static final int FORMAT_VERSION = 1;

    private static final Gson GSON = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .setPrettyPrinting()
            .disableHtmlEscaping()
            .create();

    public int formatVersion = FORMAT_VERSION;
    public Source source;
    public Tokenizer tokenizer;
    /** The chat template chat rows were rendered with; null: none (the plain role: content layout). */
    public ChatTemplateInfo chatTemplate;
    public int maxLength;
    public String overlong;
    public String badRows;
    public PartitionInfo partition;
    public long seed;
    /** Per source role (train, valid, test): records read and what became of them. */
    public Map<String, SourceCounts> sources;
    public List<ClientStats> clients;
    /** Held-out splits (valid, test). */
    public Map<String, SplitStats> splits;
    public Rejects rejects;
    public List<ShardFile> files;
    public String contentHash;

    public static final class Source {
        public String format;
        public List<String> train;
        public List<String> valid;
        public List<String> test;
        public String labelField;
        public String jsonlStyle;
        public Map<String, String> fields;
        public String textMode;
    }

    public static final class Tokenizer {
        public String name;
        public String sha256;
        public int vocabSize;
        public int bosTokenId;
        public int eosTokenId;
    }

    public static final class ChatTemplateInfo {
        public String name;
        public String sha256;
    }

    public static final class PartitionInfo {
        public String method;
        public int clients;
        public Double alpha;
        public Integer buckets;
        public int minExamples;
        public int draws;
        public double validFraction;
        /** Length-dirichlet: the [min, max] token length of each bucket. */
        public List<int[]> bucketLengthRanges;
        /** Dirichlet: the label classes in class-id order; label: client c's label is classes[c]. */
        public List<String> classes;
    }

    public static final class SourceCounts {
        public int files;
        public long records;
        public long examples;
        public long rejected;
        public long truncated;
        public long droppedTailTokens;
    }

    public static final class ClientStats {
        public int clientId;
        public long examples;
        public long tokens;
        public long targetTokens;
        public double meanLength;
        public Histogram lengthHistogram;
        public Map<String, Long> labelCounts;
    }

    public static final class SplitStats {
        public long examples;
        public long tokens;
        public double meanLength;
    }

    /** Equal-width length bins [i·width, (i+1)·width), shared by all clients so they compare. */
    public static final class Histogram {
        public int binWidth;
        public long[] counts;
    }

    public static final class Rejects {
        public long total;
        public Map<String, Long> byReason;
        /** The first rejected rows, as {@code file:line: reason}. */
        public List<String> first;
    }

    public String toJson() {
        return GSON.toJson(this) + "\n";
    }

    public void write(FileSystem fs, Path file) throws IOException {
        try (OutputStream out = fs.create(file, true)) {
            out.write(toJson().getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Reads {@code manifest.json} of a prepared dataset directory. */
    public static Manifest read(FileSystem fs, Path datasetDir) throws IOException {
        Path file = new Path(datasetDir, FILE_NAME);
        if (!fs.exists(file)) {
            throw new IOException(datasetDir + ": not a prepared dataset (no " + FILE_NAME + ")");
        }
        try (Reader r = new InputStreamReader(fs.open(file), StandardCharsets.UTF_8)) {
            Manifest m = GSON.fromJson(r, Manifest.class);
            if (m == null || m.formatVersion != FORMAT_VERSION) {
                throw new IOException(file + ": unsupported manifest format_version "
                        + (m == null ? "(empty)" : m.formatVersion) + " (expected " + FORMAT_VERSION + ")");
            }
            return m;
        } catch (JsonParseException e) {
            throw new IOException(file + ": invalid manifest: " + e.getMessage(), e);
        }
    }
}
