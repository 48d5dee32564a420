package org.splitlora.datasets.prepare;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.splitlora.datasets.EnumOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splitlora.datasets.encode.EncodedRow;
import org.splitlora.datasets.parquet.ShardFiles;
import org.splitlora.datasets.parquet.ShardFiles.ShardFile;
import org.splitlora.datasets.parquet.ShardSchema;
import org.splitlora.datasets.partition.Partition;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.partition.Partitioner;
import org.splitlora.datasets.source.InputFiles;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import org.splitlora.datasets.prepare.RowSummary.Stat;

/**
 * {@code prepare}: raw files → tokenized examples → a held-out validation split and a partition
 * of the rest over clients → Parquet under {@code train/client_id=N/}, {@code valid/},
 * {@code test/} plus {@code manifest.json}. Everything is written into a hidden sibling directory
 * that is renamed to the output only once complete and checked, so a failed run never leaves a
 * directory that looks prepared.
 */
public final class DatasetPreparer {

    private static final Logger LOG = LoggerFactory.getLogger(DatasetPreparer.class);

    /** How many rejected rows the manifest lists by position. */
    static final int LISTED_REJECTS = 20;
    private static final int HISTOGRAM_BINS = 20;

    private final SparkSession spark;
    private final JavaSparkContext jsc;
    private final Configuration conf;

    public DatasetPreparer(SparkSession spark) {
        this.spark = spark;
        this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.conf = spark.sparkContext().hadoopConfiguration();
    }

    /** What a preparation produced: the manifest, and how long it took. */
    public record Result(Manifest manifest, String out, double seconds, long recordsRead) {
        public double recordsPerSecond() {
            return recordsRead / Math.max(seconds, 1e-9);
        }
    }

    /** One source role's tokenized rows and what was learnt about them on the driver. */
    private record Role(String name, SourceEncoding.Encoded encoded, Manifest.SourceCounts counts, List<Stat> stats) {}

    public Result run(PrepareOptions o, TokenizerSpec tokenizerSpec) throws IOException {
        long start = System.nanoTime();
        Path requested = new Path(o.out());
        FileSystem fs = requested.getFileSystem(conf);
        Path out = fs.makeQualified(requested);
        Manifest m = new Manifest();
        m.source = source(o);
        checkOut(fs, out, o.overwrite(), m.source);
        Path tmp = stagingDir(fs, out);
        m.maxLength = o.maxLength();
        m.overlong = EnumOption.key(o.overlong());
        m.badRows = EnumOption.key(o.badRows());
        m.seed = o.partition().seed();
        m.sources = new LinkedHashMap<>();
        m.rejects = new Manifest.Rejects();
        m.rejects.byReason = new TreeMap<>();
        m.rejects.first = new ArrayList<>();
        int parallelism = o.parallelism() > 0 ? o.parallelism() : jsc.defaultParallelism();

        List<Role> roles = new ArrayList<>();
        try {
            m.tokenizer = describe(tokenizerSpec);
            if (o.chatTemplate() != null) {
                m.chatTemplate = new Manifest.ChatTemplateInfo();
                m.chatTemplate.name = o.chatTemplate().name();
                m.chatTemplate.sha256 = o.chatTemplate().sha256();
            }
            Role train = encode("train", m.source.train, o, tokenizerSpec, 0, parallelism, m);
            roles.add(train);
            long nextId = train.stats.isEmpty() ? 0 : train.stats.get(train.stats.size() - 1).id() + 1;
            Role valid = null;
            Role test = null;
            if (m.source.valid != null) {
                valid = encode("valid", m.source.valid, o, tokenizerSpec, nextId, parallelism, m);
                roles.add(valid);
                nextId += valid.counts.records;
            }
            if (m.source.test != null) {
                test = encode("test", m.source.test, o, tokenizerSpec, nextId, parallelism, m);
                roles.add(test);
            }

            int[] assignment = partition(o, train.stats, m);
            LOG.info("read and tokenized {} records in {} s", m.sources.values().stream().mapToLong(c -> c.records).sum(),
                    secondsSince(start));
            Path trainDir = new Path(tmp, "train");
            writeTrain(train, assignment, o, trainDir);
            m.splits = new LinkedHashMap<>();
            if (o.validFraction() > 0) {
                m.splits.put("valid", writeHeldOut(train, assignment, o, new Path(tmp, "valid")));
            }
            if (valid != null) {
                m.splits.put("valid", writeHeldOut(valid, null, o, new Path(tmp, "valid")));
            }
            if (test != null) {
                m.splits.put("test", writeHeldOut(test, null, o, new Path(tmp, "test")));
            }
            LOG.info("wrote the shards at {} s", secondsSince(start));
            ShardFiles.normalise(fs, tmp);
            m.files = ShardFiles.describe(fs, tmp, conf);
            checkFiles(m);
            m.contentHash = contentHash(m.files);
            m.write(fs, new Path(tmp, Manifest.FILE_NAME));
            publish(fs, tmp, out);
        } finally {
            for (Role r : roles) {
                r.encoded.release();
            }
            if (fs.exists(tmp)) {
                fs.delete(tmp, true);
            }
        }
        long records = m.sources.values().stream().mapToLong(c -> c.records).sum();
        return new Result(m, out.toString(), secondsSince(start), records);
    }

    /**
     * Refuses, before any work, an output whose replacement could destroy what prepare did not
     * write: a file, a directory that holds an input, a non-empty directory without our manifest,
     * or a previous output holding files its manifest does not list. An empty directory is used.
     */
    private void checkOut(FileSystem fs, Path out, boolean overwrite, Manifest.Source inputs) throws IOException {
        if (!fs.exists(out)) {
            return;
        }
        if (fs.getFileStatus(out).isFile()) {
            throw new IllegalArgumentException("out: " + out + " already exists and is a file, not a prepare output; "
                    + "refusing to replace it");
        }
        for (List<String> files : Arrays.asList(inputs.train, inputs.valid, inputs.test)) {
            for (String f : files == null ? List.<String>of() : files) {
                Path input = new Path(f);
                for (Path p = input.getFileSystem(conf).makeQualified(input).getParent(); p != null; p = p.getParent()) {
                    if (p.equals(out)) {
                        throw new IllegalArgumentException("out: " + out + " holds the input " + f
                                + "; choose another --out");
                    }
                }
            }
        }
        if (fs.listStatus(out).length == 0) {
            return;
        }
        Path manifestFile = new Path(out, Manifest.FILE_NAME);
        if (!fs.exists(manifestFile)) {
            throw new IllegalArgumentException("out: " + out + " already exists and is not a prepare output (no "
                    + Manifest.FILE_NAME + "); refusing to replace it");
        }
        if (!overwrite) {
            throw new IllegalArgumentException("out: " + out + " already exists (use --overwrite to replace it)");
        }
        Manifest previous;
        try {
            previous = Manifest.read(fs, out);
        } catch (IOException e) {
            throw new IllegalArgumentException("out: " + e.getMessage() + "; refusing to replace " + out, e);
        }
        Set<String> written = new HashSet<>();
        written.add(Manifest.FILE_NAME);
        if (previous.files != null) {
            previous.files.forEach(f -> written.add(f.path()));
        }
        // Hadoop's local filesystem lists no .crc checksum files; the shards' checksums go with them.
        var it = fs.listFiles(out, true);
        while (it.hasNext()) {
            Path file = it.next().getPath();
            String rel = out.toUri().relativize(file.toUri()).getPath();
            if (!written.contains(rel)) {
                throw new IllegalArgumentException("out: " + file + " is not listed in " + manifestFile
                        + " (prepare did not write it); move it away or choose another --out");
            }
        }
    }

    /**
     * Creates the hidden sibling the new output is written into, so an unwritable place fails
     * now, on one line, rather than after all the reading and tokenizing.
     */
    private static Path stagingDir(FileSystem fs, Path out) {
        Path parent = out.getParent();
        Path tmp = new Path(parent, "." + out.getName() + ".incomplete-" + UUID.randomUUID());
        String cannot = "out: cannot create the staging directory " + tmp.getName() + " in " + parent;
        try {
            if (!fs.mkdirs(tmp)) {
                throw new IllegalArgumentException(cannot + " (not writable?)");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(cannot + ": " + e.getMessage(), e);
        }
        return tmp;
    }

    private Manifest.Tokenizer describe(TokenizerSpec spec) {
        Manifest.Tokenizer t = new Manifest.Tokenizer();
        try (TextTokenizer tok = spec.create()) {
            t.name = spec.name();
            t.sha256 = spec.sha256();
            t.vocabSize = tok.vocabSize();
            t.bosTokenId = tok.bosTokenId();
            t.eosTokenId = tok.eosTokenId();
        }
        return t;
    }

    private Manifest.Source source(PrepareOptions o) {
        Manifest.Source s = new Manifest.Source();
        s.format = EnumOption.key(o.source().format());
        s.train = InputFiles.expand(o.input(), conf);
        s.valid = o.validInput() == null ? null : InputFiles.expand(o.validInput(), conf);
        s.test = o.testInput() == null ? null : InputFiles.expand(o.testInput(), conf);
        s.labelField = o.source().labelField();
        switch (o.source().format()) {
            case JSONL -> {
                s.jsonlStyle = EnumOption.key(o.source().jsonlStyle());
                s.fields = new TreeMap<>(o.source().fields());
            }
            case TEXT -> s.textMode = EnumOption.key(o.source().textMode());
            case E2E -> { }
        }
        return s;
    }

    /** Tokenizes one role's files, stops on fatal problems, counts rejects, and collects the stats. */
    private Role encode(String role, List<String> files, PrepareOptions o, TokenizerSpec tok, long idOffset,
            int parallelism, Manifest m) {
        SourceEncoding.Encoded e = SourceEncoding.encode(jsc, files, o.source(), tok, o.maxLength(), o.overlong(),
                o.badRows(), o.chatTemplate(), idOffset, parallelism);
        RowSummary summary = e.rows().mapPartitions(it -> List.of(RowSummary.of(it)).iterator())
                .reduce(RowSummary::merge);
        e.releaseParsed();
        if (summary.firstFatal != null) {
            e.release();
            throw new IllegalArgumentException(where(files, summary.firstFatal) + ": " + summary.firstFatal.problem());
        }
        Manifest.SourceCounts c = new Manifest.SourceCounts();
        c.files = files.size();
        c.records = summary.records;
        c.rejected = summary.rejected;
        c.examples = c.records - c.rejected;
        c.truncated = summary.truncated;
        c.droppedTailTokens = e.droppedTailTokens();
        if (c.examples == 0) {
            e.release();
            throw new IllegalArgumentException(String.join(",", files) + ": no usable rows (" + c.rejected + " rejected)");
        }
        summary.byReason.forEach((k, v) -> m.rejects.byReason.merge(k, v, Long::sum));
        m.rejects.total += c.rejected;
        for (EncodedRow r : summary.firstRejects) {
            if (m.rejects.first.size() < LISTED_REJECTS) {
                m.rejects.first.add(where(files, r) + ": " + r.problem());
            }
        }
        m.sources.put(role, c);
        return new Role(role, e, c, summary.sortedStats());
    }

    private static String where(List<String> files, EncodedRow r) {
        String file = files.get(r.fileIndex());
        return r.line() > 0 ? file + ":" + r.line() : file;
    }

    /**
     * Holds out the validation fraction (seeded, independent of the partition method) and
     * partitions the rest. Returns, indexed by example id: the client, -1 for validation, -2 for
     * ids that are not training examples.
     */
    private int[] partition(PrepareOptions o, List<Stat> stats, Manifest m) {
        int n = stats.size();
        boolean[] held = new boolean[n];
        int heldCount = (int) Math.round(o.validFraction() * n);
        int[] order = Partitioner.permutation(n, new SplittableRandom(o.partition().seed() ^ 0x5DEECE66DL));
        for (int i = 0; i < heldCount; i++) {
            held[order[i]] = true;
        }
        List<Stat> kept = new ArrayList<>(n - heldCount);
        for (int i = 0; i < n; i++) {
            if (!held[i]) {
                kept.add(stats.get(i));
            }
        }
        int[] lengths = kept.stream().mapToInt(Stat::length).toArray();
        String[] labels = o.source().labelField() == null ? null : kept.stream().map(Stat::label).toArray(String[]::new);
        PartitionSpec spec = o.partition();
        Partition p = Partitioner.assign(spec, lengths, labels);

        int[] assignment = new int[(int) (stats.get(n - 1).id() + 1)];
        Arrays.fill(assignment, -2);
        for (int i = 0; i < n; i++) {
            if (held[i]) {
                assignment[(int) stats.get(i).id()] = -1;
            }
        }
        for (int i = 0; i < kept.size(); i++) {
            assignment[(int) kept.get(i).id()] = p.clientOf()[i];
        }
        m.partition = partitionInfo(o, p, lengths, labels);
        m.clients = clientStats(spec.clients(), kept, p.clientOf(), labels != null);
        return assignment;
    }

    private static Manifest.PartitionInfo partitionInfo(PrepareOptions o, Partition p, int[] lengths, String[] labels) {
        PartitionSpec spec = o.partition();
        Manifest.PartitionInfo info = new Manifest.PartitionInfo();
        info.method = EnumOption.key(spec.method());
        info.clients = spec.clients();
        info.minExamples = spec.minExamples();
        info.draws = p.draws();
        info.validFraction = o.validFraction();
        if (spec.method() == PartitionMethod.DIRICHLET || spec.method() == PartitionMethod.LENGTH_DIRICHLET) {
            info.alpha = spec.alpha();
        }
        if (spec.method() == PartitionMethod.LENGTH_DIRICHLET) {
            info.buckets = spec.buckets();
            int[][] range = new int[spec.buckets()][];
            for (int i = 0; i < lengths.length; i++) {
                int k = p.classOf()[i];
                range[k] = range[k] == null
                        ? new int[] {lengths[i], lengths[i]}
                        : new int[] {Math.min(range[k][0], lengths[i]), Math.max(range[k][1], lengths[i])};
            }
            info.bucketLengthRanges = Arrays.asList(range);
        }
        if (spec.method() == PartitionMethod.DIRICHLET) {
            info.classes = Arrays.stream(labels).map(l -> l == null ? "(none)" : l).distinct().sorted().toList();
        }
        if (spec.method() == PartitionMethod.LABEL) {
            info.classes = Partitioner.labelOrder(labels); // client c's label is classes[c]
        }
        return info;
    }

    private static List<Manifest.ClientStats> clientStats(int clients, List<Stat> kept, int[] clientOf, boolean withLabels) {
        int maxLength = kept.stream().mapToInt(Stat::length).max().orElse(0);
        int binWidth = Math.max(1, (int) Math.ceil((maxLength + 1) / (double) HISTOGRAM_BINS));
        int bins = (maxLength / binWidth) + 1;
        List<Manifest.ClientStats> out = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Manifest.ClientStats s = new Manifest.ClientStats();
            s.clientId = c;
            s.lengthHistogram = new Manifest.Histogram();
            s.lengthHistogram.binWidth = binWidth;
            s.lengthHistogram.counts = new long[bins];
            s.labelCounts = withLabels ? new TreeMap<>() : null;
            out.add(s);
        }
        for (int i = 0; i < kept.size(); i++) {
            Stat st = kept.get(i);
            Manifest.ClientStats s = out.get(clientOf[i]);
            s.examples++;
            s.tokens += st.length();
            s.targetTokens += st.targets();
            s.lengthHistogram.counts[st.length() / binWidth]++;
            if (withLabels) {
                s.labelCounts.merge(st.label() == null ? "(none)" : st.label(), 1L, Long::sum);
            }
        }
        for (Manifest.ClientStats s : out) {
            s.meanLength = s.examples == 0 ? 0 : round3(s.tokens / (double) s.examples);
        }
        return out;
    }

    private void writeTrain(Role train, int[] assignment, PrepareOptions o, Path dir) {
        boolean withLabel = o.source().labelField() != null;
        Broadcast<int[]> clientOf = jsc.broadcast(assignment);
        JavaRDD<Row> rows = train.encoded.rows().filter(EncodedRow::ok)
                .map(r -> ShardSchema.toRow(r, withLabel, clientOf.value()[(int) r.exampleId()]));
        Dataset<Row> df = spark.createDataFrame(rows, ShardSchema.schema(withLabel, true))
                .filter(col(ShardSchema.CLIENT_ID).geq(0));
        // One task per client hash; every client's rows land in one file, sorted by example id.
        df.repartition(o.partition().clients(), col(ShardSchema.CLIENT_ID))
                .sortWithinPartitions(ShardSchema.CLIENT_ID, ShardSchema.EXAMPLE_ID)
                .write()
                .partitionBy(ShardSchema.CLIENT_ID)
                .parquet(dir.toString());
    }

    /** Writes a held-out split: the training source's held-out rows (assignment -1), or a whole source. */
    private Manifest.SplitStats writeHeldOut(Role role, int[] assignment, PrepareOptions o, Path dir) {
        boolean withLabel = o.source().labelField() != null;
        Broadcast<int[]> clientOf = assignment == null ? null : jsc.broadcast(assignment);
        JavaRDD<EncodedRow> rows = role.encoded.rows()
                .filter(r -> r.ok() && (clientOf == null || clientOf.value()[(int) r.exampleId()] == -1));
        spark.createDataFrame(rows.map(r -> ShardSchema.toRow(r, withLabel, null)), ShardSchema.schema(withLabel, false))
                .coalesce(1)
                .sortWithinPartitions(ShardSchema.EXAMPLE_ID)
                .write()
                .parquet(dir.toString());
        Manifest.SplitStats s = new Manifest.SplitStats();
        for (Stat st : role.stats) {
            if (assignment == null || assignment[(int) st.id()] == -1) {
                s.examples++;
                s.tokens += st.length();
            }
        }
        s.meanLength = s.examples == 0 ? 0 : round3(s.tokens / (double) s.examples);
        return s;
    }

    /** The files must hold exactly the rows the manifest promises, split by split and client by client. */
    private static void checkFiles(Manifest m) {
        Map<String, Long> expected = new LinkedHashMap<>();
        for (Manifest.ClientStats c : m.clients) {
            expected.put("train/" + ShardSchema.CLIENT_ID + "=" + c.clientId + "/", c.examples);
        }
        m.splits.forEach((name, s) -> expected.put(name + "/", s.examples));
        expected.forEach((prefix, rows) -> {
            long found = m.files.stream().filter(f -> f.path().startsWith(prefix)).mapToLong(ShardFile::rows).sum();
            if (found != rows) {
                throw new IllegalStateException("written shards under " + prefix + " hold " + found
                        + " rows, expected " + rows);
            }
        });
    }

    static String contentHash(List<ShardFile> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (ShardFile f : files) {
                md.update((f.path() + "\t" + f.rows() + "\t" + f.sha256() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Moves the finished directory into place; an existing output (with --overwrite) goes only after. */
    private static void publish(FileSystem fs, Path tmp, Path out) throws IOException {
        Path old = null;
        if (fs.exists(out)) {
            old = new Path(out.getParent(), "." + out.getName() + ".replaced-" + UUID.randomUUID());
            if (!fs.rename(out, old)) {
                throw new IOException("cannot move the existing " + out + " aside");
            }
        }
        if (!fs.rename(tmp, out)) {
            if (old != null) {
                fs.rename(old, out);
            }
            throw new IOException("cannot rename " + tmp + " to " + out);
        }
        if (old != null) {
            fs.delete(old, true);
        }
    }

    private static double secondsSince(long startNanos) {
        return Math.round((System.nanoTime() - startNanos) / 1e7) / 100.0;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
