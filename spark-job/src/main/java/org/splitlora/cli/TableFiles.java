package org.splitlora.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Locale;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.eval.generate.RowGeneration;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.report.progress.Progress;
import org.splitlora.report.progress.SparkTaskProgress;

/** {@code generate --input}: rows of a JSONL or Parquet input, each with its generated output, to a new directory. */
final class TableFiles {

    /** The row position in the input, while the rows are spread over the tasks. */
    private static final String ORDER = "__splitlora_input_order";

    private TableFiles() {}

    enum Format {
        JSON, PARQUET;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Format parse(String option, String text) {
            return switch (text.toLowerCase(Locale.ROOT)) {
                case "json" -> JSON;
                case "parquet" -> PARQUET;
                default -> throw new IllegalArgumentException(option + ": unknown format '" + text + "' (json or parquet)");
            };
        }

        /** The format a path's name ends in (a directory's too, e.g. {@code rows.parquet/}). */
        static Format ofName(String path) {
            String name = path.replaceAll("/+$", "").toLowerCase(Locale.ROOT);
            if (name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".jsonl.gz") || name.endsWith(".json.gz")) {
                return JSON;
            }
            if (name.endsWith(".parquet")) {
                return PARQUET;
            }
            throw new IllegalArgumentException("--input " + path + ": cannot tell the format from the name "
                    + "(.jsonl, .json, .parquet); give --input-format json|parquet");
        }
    }

    /** What to read, what to write, and the columns. {@code partitions} 0 = Spark's default parallelism. */
    record Job(String input, Format inputFormat, String output, Format outputFormat, String promptCol, String outputCol,
               int partitions) {}

    /**
     * Generates for every row of the input and writes the rows with their outputs; returns the
     * number of rows. Fails before any generation if the output exists or a column is wrong.
     */
    static long generate(SparkSession spark, Job job, String model, DeviceChoice device, AdapterWeights adapter,
                         GenerationConfig cfg) {
        requireAbsent(spark, job.output());
        requirePresent(spark, job.input());
        Dataset<Row> rows = read(spark, job);
        checkColumns(job, rows.schema());
        long count = rows.count();
        int tasks = job.partitions() > 0 ? job.partitions() : spark.sparkContext().defaultParallelism();
        // contiguous ranges of the input, in order: part-0000i holds the i-th range, rows in input order
        Dataset<Row> spread = rows.withColumn(ORDER, functions.monotonically_increasing_id())
                .repartitionByRange(tasks, functions.col(ORDER))
                .sortWithinPartitions(ORDER)
                .drop(ORDER);
        Dataset<Row> generated = RowGeneration.appendOutputs(spread, job.promptCol(), job.outputCol(), model, device, adapter, cfg);
        DataFrameWriter<Row> writer = generated.write().mode(SaveMode.ErrorIfExists);
        if (job.outputFormat() == Format.JSON) {
            writer = writer.option("ignoreNullFields", "false"); // a null output reads back as null, not as a missing key
        }
        // on stderr: stdout holds the command's summary
        try (SparkTaskProgress ignored = SparkTaskProgress.attach(spark.sparkContext(),
                Progress.start(System.err, "generate: Spark tasks", 0))) {
            writer.format(job.outputFormat().key()).save(job.output());
        } catch (Exception e) { // SparkException is checked, and thrown undeclared
            if (!(e instanceof AnalysisException)) { // not "already exists": the directory is the failed job's
                removeIfEmpty(spark, job.output());
            }
            throw e;
        }
        return count;
    }

    /**
     * After a failed write: the directory Spark made and its aborted commit emptied goes, so that
     * the same command can run again. Anything in it stays.
     */
    private static void removeIfEmpty(SparkSession spark, String dir) {
        Path p = new Path(dir);
        try {
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (fs.getFileStatus(p).isDirectory() && fs.listStatus(p).length == 0) {
                fs.delete(p, false);
            }
        } catch (IOException | RuntimeException ignored) {
            // the job's own error is the one to report
        }
    }

    private static Dataset<Row> read(SparkSession spark, Job job) {
        try {
            return job.inputFormat() == Format.JSON
                    ? spark.read().option("mode", "FAILFAST").json(job.input())
                    : spark.read().parquet(job.input());
        } catch (Exception e) { // Spark's SparkException is checked, and thrown undeclared
            Throwable t = e;
            while (t.getCause() != null && !(t instanceof AnalysisException)) {
                t = t.getCause();
            }
            String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("--input " + job.input() + ": not readable as " + job.inputFormat().key()
                    + (job.inputFormat() == Format.JSON ? " lines" : "") + ": " + why, e);
        }
    }

    private static void checkColumns(Job job, StructType schema) {
        String in = "--input " + job.input();
        if (!Arrays.asList(schema.fieldNames()).contains(job.promptCol())) {
            throw new IllegalArgumentException(in + ": no column '" + job.promptCol() + "' (--prompt-col; columns: "
                    + String.join(", ", schema.fieldNames()) + ")");
        }
        DataType type = schema.apply(job.promptCol()).dataType();
        if (!type.equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(in + ": column '" + job.promptCol() + "' is " + type.simpleString()
                    + ", not a string (--prompt-col)");
        }
        if (Arrays.asList(schema.fieldNames()).contains(job.outputCol())) {
            throw new IllegalArgumentException(in + ": already has a column '" + job.outputCol() + "' (choose another --output-col)");
        }
        if (Arrays.asList(schema.fieldNames()).contains(ORDER)) {
            throw new IllegalArgumentException(in + ": has a column '" + ORDER + "', a name generate reserves");
        }
    }

    private static void requireAbsent(SparkSession spark, String dir) {
        if (!matches(spark, dir)) {
            return;
        }
        throw new IllegalArgumentException("--output " + dir + ": already exists; generate writes only a new directory "
                + "and leaves this one as it is (remove it or choose another path)");
    }

    private static void requirePresent(SparkSession spark, String input) {
        if (!matches(spark, input)) {
            throw new IllegalArgumentException("--input " + input + ": no such file or directory");
        }
    }

    /** Whether {@code path} (or, for a glob, anything it matches) exists. */
    private static boolean matches(SparkSession spark, String path) {
        Path p = new Path(path);
        try {
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            FileStatus[] found = fs.globStatus(p);
            return found != null && found.length > 0;
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
    }
}
