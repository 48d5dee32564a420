package org.splitlora.ml;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.eval.generate.RowGeneration;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;

/**
 * A base model with the LoRA adapter a {@link SplitLoraEstimator} trained: {@link #transform}
 * adds {@code outputCol}, the continuation generated for {@code promptCol}, on the executors (each
 * executor JVM loads the base model and the broadcast adapter once, as {@code eval} does), with
 * {@link RowGeneration}, which {@code generate --input} runs too.
 *
 * <p>{@code write().save(path)} writes Spark ML's Params metadata ({@code metadata/}), the adapter
 * in HF PEFT format ({@code adapter/}: the run's exported adapter, byte for byte, usable by {@code
 * generate --adapter} and PEFT) and {@code provenance.json} (base model, run directory, and the
 * run's run.json: seed, data content hash, the full resolved training configuration, versions);
 * {@link #load} restores it.
 */
public final class SplitLoraModel extends Model<SplitLoraModel> implements DefaultParamsWritable {

    private static final long serialVersionUID = 1L;

    private final String uid;
    private final TrainedAdapter trained;
    private transient AdapterWeights weights;
    private final Param<String> promptCol;
    private final LongParam seed;
    private final DecodingParams decoding;

    SplitLoraModel(String uid, TrainedAdapter trained) {
        this.uid = uid;
        this.trained = trained;
        promptCol = new Param<>(this, "promptCol", "prompt column (string) transform generates from");
        seed = new LongParam(this, "seed", "seed of strategy sample (every prompt is sampled with it)");
        decoding = new DecodingParams(this);
        setDefault(promptCol, "prompt");
        setDefault(seed, 42L);
        decoding.setDefaults(this);
    }

    @Override
    public String uid() {
        return uid;
    }

    // ---- what was trained ----

    /** The base model the adapter belongs to (an HF model directory or builtin:tiny-gpt2). */
    public String baseModel() {
        return trained.baseModel();
    }

    /** The run directory the adapter was trained in (qualified). */
    public String runDir() {
        return trained.runDir();
    }

    /** The training seed. */
    public long trainingSeed() {
        return trained.run().get("seed").getAsLong();
    }

    /** The SHA-256 content hash of the prepared dataset it was trained on (the manifest's). */
    public String dataHash() {
        return trained.run().getAsJsonObject("data").get("content_hash").getAsString();
    }

    /** The full resolved training configuration, as JSON (what run.json records). */
    public String trainingConfig() {
        return trained.run().get("config").toString();
    }

    /** The trained adapter's values, as generation uses them. */
    public synchronized AdapterWeights adapter() {
        if (weights == null) {
            weights = trained.weights();
        }
        return weights;
    }

    // ---- Params ----

    public Param<String> promptCol() {
        return promptCol;
    }

    public LongParam seed() {
        return seed;
    }

    public Param<String> outputCol() {
        return decoding.outputCol;
    }

    public Param<String> strategy() {
        return decoding.strategy;
    }

    public IntParam maxNewTokens() {
        return decoding.maxNewTokens;
    }

    public IntParam numBeams() {
        return decoding.numBeams;
    }

    public DoubleParam lengthPenalty() {
        return decoding.lengthPenalty;
    }

    public IntParam noRepeatNgram() {
        return decoding.noRepeatNgram;
    }

    public DoubleParam temperature() {
        return decoding.temperature;
    }

    public IntParam topK() {
        return decoding.topK;
    }

    public DoubleParam topP() {
        return decoding.topP;
    }

    public Param<String> generationDevice() {
        return decoding.generationDevice;
    }

    public SplitLoraModel setPromptCol(String v) {
        set(promptCol, v);
        return this;
    }

    public String getPromptCol() {
        return getOrDefault(promptCol);
    }

    public SplitLoraModel setSeed(long v) {
        set(seed, v);
        return this;
    }

    public long getSeed() {
        return (Long) getOrDefault(seed);
    }

    public SplitLoraModel setOutputCol(String v) {
        set(decoding.outputCol, v);
        return this;
    }

    public String getOutputCol() {
        return getOrDefault(decoding.outputCol);
    }

    public SplitLoraModel setStrategy(String v) {
        set(decoding.strategy, v);
        return this;
    }

    public String getStrategy() {
        return getOrDefault(decoding.strategy);
    }

    public SplitLoraModel setMaxNewTokens(int v) {
        set(decoding.maxNewTokens, v);
        return this;
    }

    public int getMaxNewTokens() {
        return (Integer) getOrDefault(decoding.maxNewTokens);
    }

    public SplitLoraModel setNumBeams(int v) {
        set(decoding.numBeams, v);
        return this;
    }

    public int getNumBeams() {
        return (Integer) getOrDefault(decoding.numBeams);
    }

    public SplitLoraModel setLengthPenalty(double v) {
        set(decoding.lengthPenalty, v);
        return this;
    }

    public double getLengthPenalty() {
        return (Double) getOrDefault(decoding.lengthPenalty);
    }

    public SplitLoraModel setNoRepeatNgram(int v) {
        set(decoding.noRepeatNgram, v);
        return this;
    }

    public int getNoRepeatNgram() {
        return (Integer) getOrDefault(decoding.noRepeatNgram);
    }

    public SplitLoraModel setTemperature(double v) {
        set(decoding.temperature, v);
        return this;
    }

    public double getTemperature() {
        return (Double) getOrDefault(decoding.temperature);
    }

    public SplitLoraModel setTopK(int v) {
        set(decoding.topK, v);
        return this;
    }

    public int getTopK() {
        return (Integer) getOrDefault(decoding.topK);
    }

    public SplitLoraModel setTopP(double v) {
        set(decoding.topP, v);
        return this;
    }

    public double getTopP() {
        return (Double) getOrDefault(decoding.topP);
    }

    public SplitLoraModel setGenerationDevice(String v) {
        set(decoding.generationDevice, v);
        return this;
    }

    public String getGenerationDevice() {
        return getOrDefault(decoding.generationDevice);
    }

    /** The decoding transform runs (the Params' strategy, stopping at the base model's EOS). */
    public GenerationConfig generationConfig() {
        return decoding.config(this, getSeed(), ModelSource.of(baseModel()).config().eosTokenId());
    }

    // ---- transform ----

    /** {@code schema} with a nullable string column {@code outputCol}, which must not be there yet. */
    static StructType withOutput(StructType schema, String outputCol) {
        if (Arrays.asList(schema.fieldNames()).contains(outputCol)) {
            throw new IllegalArgumentException("outputCol: column '" + outputCol + "' already exists");
        }
        return schema.add(outputCol, DataTypes.StringType, true);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        SplitLoraEstimator.requireColumn(schema, "promptCol", getPromptCol(), DataTypes.StringType);
        return withOutput(schema, getOutputCol());
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        return RowGeneration.appendOutputs(dataset.toDF(), getPromptCol(), getOutputCol(), baseModel(),
                DeviceChoice.parse(getGenerationDevice(), "generationDevice"), adapter(), generationConfig());
    }

    // ---- copy, save, load ----

    @Override
    public SplitLoraModel copy(ParamMap extra) {
        SplitLoraModel copy = copyValues(new SplitLoraModel(uid, trained), extra);
        return parent() == null ? copy : copy.setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new Writer(this);
    }

    /** Spark ML's own Params metadata, as every stage writes it (what a PipelineModel reads a stage's class from). */
    private MLWriter paramsWriter() {
        return DefaultParamsWritable.super.write();
    }

    private static final class Writer extends MLWriter {
        private final SplitLoraModel model;

        Writer(SplitLoraModel model) {
            this.model = model;
        }

        @Override
        public void saveImpl(String path) {
            try {
                model.paramsWriter().session(sparkSession()).save(path);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot save " + path + ": " + e.getMessage(), e);
            }
            model.trained.write(path, sc().hadoopConfiguration());
        }
    }

    /** Reads a model {@code write().save(path)} wrote. */
    public static MLReader<SplitLoraModel> read() {
        return new Reader();
    }

    public static SplitLoraModel load(String path) {
        return read().load(path);
    }

    private static final class Reader extends MLReader<SplitLoraModel> {
        @Override
        public SplitLoraModel load(String path) {
            String metadataDir = new org.apache.hadoop.fs.Path(path, "metadata").toString();
            JsonObject metadata = JsonParser.parseString(sc().textFile(metadataDir, 1).first()).getAsJsonObject();
            String cls = metadata.get("class").getAsString();
            if (!cls.equals(SplitLoraModel.class.getName())) {
                throw new IllegalArgumentException(path + ": holds a " + cls + ", not a " + SplitLoraModel.class.getName());
            }
            SplitLoraModel model = new SplitLoraModel(metadata.get("uid").getAsString(),
                    TrainedAdapter.read(path, sc().hadoopConfiguration()));
            for (Map.Entry<String, JsonElement> p : metadata.getAsJsonObject("paramMap").entrySet()) {
                Param<Object> param = model.getParam(p.getKey());
                model.set(param, param.jsonDecode(p.getValue().toString()));
            }
            return model;
        }
    }
}
