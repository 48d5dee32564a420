package org.splitlora.eval.generate;

import com.google.common.collect.Iterators;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.generate.GenerationConfig;

/**
 * Generation that keeps the rows it generates for: every row of a DataFrame with one column
 * appended, the continuation of its prompt column ({@link BatchGeneration}'s prompt layout and
 * decoding), or null where the prompt is null. It runs where the rows' partitions are: each task
 * uses its executor's model and the broadcast adapter ({@link ExecutorModels}). What
 * {@code SplitLoraModel.transform} and {@code generate --input} both run.
 */
public final class RowGeneration {

    /** Prompts a task decodes between emitting rows (one tokenizer per chunk). */
    private static final int CHUNK = 64;

    private RowGeneration() {
    }

    /**
     * {@code rows} with the nullable string column {@code outputCol} appended. The caller has
     * checked that {@code promptCol} is a string column and {@code outputCol} is not a column yet.
     *
     * @param device where each executor generates
     * @param adapter the adapter, or null for the base model alone
     */
    public static Dataset<Row> appendOutputs(Dataset<Row> rows, String promptCol, String outputCol, String model,
                                             DeviceChoice device, AdapterWeights adapter, GenerationConfig cfg) {
        SparkSession spark = rows.sparkSession();
        StructType out = rows.schema().add(outputCol, DataTypes.StringType, true);
        Broadcast<AdapterWeights> weights = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(adapter);
        JavaRDD<Row> generated = rows.javaRDD().mapPartitions(
                new Generation(model, device, weights, cfg, rows.schema().fieldIndex(promptCol)));
        return spark.createDataFrame(generated, out);
    }

    /** One task's rows with their outputs appended. */
    private record Generation(String model, DeviceChoice device, Broadcast<AdapterWeights> adapter, GenerationConfig cfg, int promptIndex)
            implements FlatMapFunction<Iterator<Row>, Row> {

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return Iterators.concat(Iterators.transform(Iterators.partition(rows, CHUNK), this::generate));
        }

        private Iterator<Row> generate(List<Row> chunk) {
            List<String> prompts = chunk.stream().filter(r -> !r.isNullAt(promptIndex)).map(r -> r.getString(promptIndex)).toList();
            Iterator<String> outputs = BatchGeneration.local(model, device, adapter.value(), cfg, prompts).iterator();
            List<Row> out = new ArrayList<>(chunk.size());
            for (Row r : chunk) {
                Object[] values = new Object[r.length() + 1];
                for (int i = 0; i < r.length(); i++) {
                    values[i] = r.get(i);
                }
                values[r.length()] = r.isNullAt(promptIndex) ? null : outputs.next();
                out.add(RowFactory.create(values));
            }
            return out.iterator();
        }
    }
}
