package org.splitlora.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.prepare.DatasetPreparer;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.datasets.prepare.PrepareOptions;
import org.splitlora.datasets.source.JsonlStyle;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.tokenize.TokenizerSpec;

/**
 * What {@code fit} trains on: the DataFrame's rows written as {@code prepare}'s JSONL input (one
 * file per partition, in row order), then prepared exactly as {@code prepare --format jsonl}
 * prepares them: the same tokenization, hold-out, partition, shards and manifest.
 */
final class FitData {

    private FitData() {}

    /** The DataFrame's columns in the roles of a JSONL row; text is set for plain-text rows, client and label may be null. */
    record Columns(String prompt, String completion, String text, String client, String label) {
        /** The row's fields as the JSONL reader expects them, by column. */
        Map<String, String> fields() {
            Map<String, String> f = new LinkedHashMap<>();
            if (text != null) {
                f.put("text", text);
            } else {
                f.put("prompt", prompt);
                f.put("completion", completion);
            }
            if (client != null) {
                f.put("client", client);
            } else if (label != null) {
                f.put("label", label);
            }
            return f;
        }

        String labelField() {
            return client != null ? "client" : label != null ? "label" : null;
        }
    }

    /** How examples go to clients when there is no client column. */
    record Split(PartitionMethod method, int clients, double alpha, int buckets, int minExamples) {}

    /**
     * Writes the rows to {@code sourceDir}, checks them, and prepares them into {@code dataDir};
     * {@code split} is ignored when {@code cols.client} names the clients.
     */
    static Manifest prepare(SparkSession spark, Dataset<Row> rows, Columns cols, Split split, long seed, int maxLength,
                            double validFraction, TokenizerSpec tokenizer, String sourceDir, String dataDir) {
        Map<String, String> fields = cols.fields();
        int clients = check(rows, fields, cols.client());
        List<Column> json = new ArrayList<>();
        fields.forEach((role, column) -> json.add(col(column).cast("string").as(role)));
        rows.select(to_json(struct(json.toArray(Column[]::new)))).write().text(sourceDir);

        PartitionSpec partition = cols.client() != null
                ? new PartitionSpec(PartitionMethod.LABEL, clients, PartitionSpec.DEFAULT_ALPHA, PartitionSpec.DEFAULT_BUCKETS,
                        1, PartitionSpec.DEFAULT_MAX_DRAWS, seed)
                : new PartitionSpec(split.method(), split.clients(), split.alpha(), split.buckets(), split.minExamples(),
                        PartitionSpec.DEFAULT_MAX_DRAWS, seed);
        SourceOptions source = new SourceOptions(SourceFormat.JSONL, cols.labelField(),
                cols.text() != null ? JsonlStyle.TEXT : JsonlStyle.PROMPT_COMPLETION, null, null);
        PrepareOptions options = PrepareOptions.builder(sourceDir, source, partition, dataDir)
                .maxLength(maxLength)
                .validFraction(validFraction)
                .build();
        try {
            return new DatasetPreparer(spark).run(options, tokenizer).manifest();
        } catch (IOException e) {
            throw new UncheckedIOException("outPath: cannot prepare " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses rows a JSONL reader would reject (a null or blank prompt, completion, text or client),
     * naming the Param and column, before anything is written; returns the number of distinct clients (0
     * without a client column).
     */
    private static int check(Dataset<Row> rows, Map<String, String> fields, String clientColumn) {
        List<Column> aggs = new ArrayList<>();
        aggs.add(sum(lit(1)).as("rows"));
        Map<String, String> required = new LinkedHashMap<>(fields);
        required.remove("label"); // a row without a label is a class of its own
        for (String column : required.values()) {
            Column c = col(column);
            aggs.add(sum(when(c.isNull().or(c.cast("string").rlike("^\\s*$")), 1).otherwise(0)).as("blank " + column));
        }
        if (clientColumn != null) {
            aggs.add(countDistinct(col(clientColumn)).as("clients"));
        }
        Row r = rows.agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new)).first();
        long total = r.isNullAt(0) ? 0 : r.getLong(0);
        if (total == 0) {
            throw new IllegalArgumentException("fit: the DataFrame has no rows");
        }
        int i = 1;
        for (Map.Entry<String, String> f : required.entrySet()) {
            long blank = r.getLong(i++);
            if (blank > 0) {
                throw new IllegalArgumentException(f.getKey() + "Col '" + f.getValue() + "': " + blank + " of " + total
                        + " rows are null or blank");
            }
        }
        return clientColumn == null ? 0 : (int) r.getLong(i);
    }
}
