package org.splitlora.eval.generate;

import ai.djl.Device;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.Generator;
import org.splitlora.model.lora.LoraAdapters;

/**
 * Batch generation over many prompts (the model's context text, e.g. an E2E MR's), either in
 * this process or as a Spark job: the prompts are split into partitions, and each executor loads
 * the base model and the broadcast adapter once (per JVM) and maps its prompts to outputs.
 * Decoding is deterministic, so both give the same outputs.
 */
public final class BatchGeneration {

    /** Schema of the output: the prompt's position in the input, the prompt, the output text. */
    public static final StructType SCHEMA = new StructType()
            .add("index", DataTypes.IntegerType, false)
            .add("context", DataTypes.StringType, false)
            .add("output", DataTypes.StringType, false);

    private BatchGeneration() {
    }

    /** Outputs for {@code contexts}, in order, generated in this process on {@code device}. */
    public static List<String> local(String model, DeviceChoice device, AdapterWeights adapter, GenerationConfig cfg,
                                     List<String> contexts) {
        return generate(model, device, adapter, cfg, contexts);
    }

    /**
     * A Spark job generating for {@code contexts} in {@code partitions} tasks, each on
     * {@code device} of its executor; rows follow {@link #SCHEMA}.
     */
    public static Dataset<Row> onExecutors(SparkSession spark, String model, DeviceChoice device, AdapterWeights adapter,
                                           GenerationConfig cfg, List<String> contexts, int partitions) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<AdapterWeights> weights = jsc.broadcast(adapter);
        List<Row> input = new ArrayList<>();
        for (int i = 0; i < contexts.size(); i++) {
            input.add(RowFactory.create(i, contexts.get(i)));
        }
        JavaRDD<Row> rows = jsc.parallelize(input, Math.max(1, Math.min(partitions, contexts.size())))
                .mapPartitions(it -> {
                    List<Row> part = new ArrayList<>();
                    it.forEachRemaining(part::add);
                    List<String> outputs = generate(model, device, weights.value(), cfg, part.stream().map(r -> r.getString(1)).toList());
                    List<Row> out = new ArrayList<>();
                    for (int i = 0; i < part.size(); i++) {
                        out.add(RowFactory.create(part.get(i).getInt(0), part.get(i).getString(1), outputs.get(i)));
                    }
                    return out.iterator();
                });
        return spark.createDataFrame(rows, SCHEMA);
    }

    private static List<String> generate(String model, DeviceChoice device, AdapterWeights adapter, GenerationConfig cfg,
                                         List<String> contexts) {
        Device on = device.resolve("generation device");
        DecoderModel base = ExecutorModels.model(model, on);
        LoraAdapters lora = ExecutorModels.adapter(model, adapter, on);
        Generator generator = new Generator(base, lora);
        List<String> out = new ArrayList<>();
        try (TextTokenizer tok = ModelSource.of(model).tokenizer()) {
            for (String context : contexts) {
                int[] prompt = PromptCompletionFormat.encodePrompt(tok, context);
                out.add(tok.decode(generator.generate(prompt, cfg).tokens()).strip());
            }
        }
        return out;
    }
}
