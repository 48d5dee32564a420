package org.splitlora.ml;

import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReadable;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.splitlora.api.SplitLoraTrainer;
import org.splitlora.api.TrainedRun;
import org.splitlora.config.ConfigError;
import org.splitlora.config.RunMode;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.EnumOption;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.model.ModelSource;
import org.splitlora.store.RunStore;

/**
 * Fine-tunes LoRA adapters on a DataFrame of prompt/completion rows (or plain text), as a Spark
 * ML {@link Estimator}: {@link #fit} writes the rows as {@code prepare}'s JSONL input under
 * {@code outPath/source/}, prepares them exactly as {@code prepare} does into {@code outPath/data/}
 * (tokenized with the model's tokenizer, clients from {@code clientCol} or the partitioner), trains
 * through {@link SplitLoraTrainer} on the DataFrame's own SparkSession (never stopping it) into the
 * run directory {@code outPath/run/}, and returns a {@link SplitLoraModel} that generates on the
 * executors. Every {@code train --conf} key can be set with {@link #setConf}; it is validated as the
 * conf file is.
 *
 * <p>Saved and loaded as every Spark ML stage ({@code write().save(path)}, {@link #load}), so it
 * works inside a {@link org.apache.spark.ml.Pipeline}.
 */
public final class SplitLoraEstimator extends Estimator<SplitLoraModel> implements DefaultParamsWritable {

    private static final long serialVersionUID = 1L;

    /** Configuration keys the Params own, by the Param that sets them. */
    private static final Map<String, String> OWNED_KEYS = Map.of("model", "modelPath", "mode", "mode", "seed", "seed",
            "data.dir", "outPath", "out", "outPath");
    private static final List<String> PARTITIONS = Arrays.stream(PartitionMethod.values())
            .filter(m -> m != PartitionMethod.LABEL).map(EnumOption::key).toList();

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> mode;
    private final Param<String> outPath;
    private final Param<String> promptCol;
    private final Param<String> completionCol;
    private final Param<String> textCol;
    private final Param<String> clientCol;
    private final IntParam numClients;
    private final Param<String> partition;
    private final Param<String> labelCol;
    private final DoubleParam alpha;
    private final IntParam buckets;
    private final IntParam minExamples;
    private final IntParam maxLength;
    private final DoubleParam validFraction;
    private final LongParam seed;
    private final StringArrayParam conf;
    private final DecodingParams decoding;

    public SplitLoraEstimator() {
        this(Identifiable.randomUID("splitLora"));
    }

    public SplitLoraEstimator(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "base model: an HF model directory (a local path or Hadoop URI that "
                + "every executor can read) or builtin:tiny-gpt2; its tokenizer tokenizes the rows");
        mode = new Param<>(this, "mode", "training mode: " + String.join(" | ", Arrays.stream(RunMode.values())
                .map(RunMode::key).toList()), ParamValidators.inArray(Arrays.stream(RunMode.values()).map(RunMode::key).toList()));
        outPath = new Param<>(this, "outPath", "a new directory (any Hadoop filesystem) fit writes into: source/ (the rows "
                + "as JSONL), data/ (the prepared dataset, as prepare writes it), run/ (the run directory)");
        promptCol = new Param<>(this, "promptCol", "prompt column (string): the context the completion follows; transform "
                + "generates from it");
        completionCol = new Param<>(this, "completionCol", "completion column (string): the loss is on its tokens only");
        textCol = new Param<>(this, "textCol", "plain-text column (string): when set, fit trains on it (every token a "
                + "target) instead of promptCol and completionCol");
        clientCol = new Param<>(this, "clientCol", "client column (integer or string): each distinct value is one client, "
                + "numbered in value order; unset = numClients and partition decide");
        numClients = new IntParam(this, "numClients", "clients the rows are spread over when there is no clientCol",
                ParamValidators.gtEq(1));
        partition = new Param<>(this, "partition", "how rows are spread over numClients without clientCol: "
                + String.join(" | ", PARTITIONS) + " (as prepare --partition)", ParamValidators.inArray(PARTITIONS));
        labelCol = new Param<>(this, "labelCol", "partition dirichlet: the class label column");
        alpha = new DoubleParam(this, "alpha", "Dirichlet concentration (dirichlet, length-dirichlet): 0.1 strongly non-IID, "
                + "100 nearly IID", ParamValidators.gt(0));
        buckets = new IntParam(this, "buckets", "length-dirichlet: length quantile buckets", ParamValidators.gtEq(1));
        minExamples = new IntParam(this, "minExamples", "every client gets at least this many examples (Dirichlet "
                + "partitions are redrawn until so)", ParamValidators.gtEq(1));
        maxLength = new IntParam(this, "maxLength", "most tokens per example; longer rows are truncated",
                ParamValidators.gtEq(2));
        validFraction = new DoubleParam(this, "validFraction", "fraction of the rows held out for validation "
                + "(seeded, from all clients)", ParamValidators.inRange(0, 1, true, false));
        seed = new LongParam(this, "seed", "seeds training (data order, LoRA init, dropout, client sampling), the "
                + "hold-out and partition; the fitted model's seed for strategy sample");
        conf = new StringArrayParam(this, "conf", "train --conf keys as key=value (HOCON values), set by setConf");
        decoding = new DecodingParams(this);

        setDefault(modelPath, "builtin:tiny-gpt2");
        setDefault(mode, "sfl");
        setDefault(promptCol, "prompt");
        setDefault(completionCol, "completion");
        setDefault(partition, "iid");
        setDefault(alpha, 0.5);
        setDefault(buckets, 10);
        setDefault(minExamples, 1);
        setDefault(maxLength, 512);
        setDefault(validFraction, 0.05);
        setDefault(seed, 42L);
        setDefault(conf, new String[0]);
        decoding.setDefaults(this);
    }

    @Override
    public String uid() {
        return uid;
    }

    // ---- Params (Spark ML finds a stage's Params through these public accessors) ----

    public Param<String> modelPath() {
        return modelPath;
    }

    public Param<String> mode() {
        return mode;
    }

    public Param<String> outPath() {
        return outPath;
    }

    public Param<String> promptCol() {
        return promptCol;
    }

    public Param<String> completionCol() {
        return completionCol;
    }

    public Param<String> textCol() {
        return textCol;
    }

    public Param<String> clientCol() {
        return clientCol;
    }

    public IntParam numClients() {
        return numClients;
    }

    public Param<String> partition() {
        return partition;
    }

    public Param<String> labelCol() {
        return labelCol;
    }

    public DoubleParam alpha() {
        return alpha;
    }

    public IntParam buckets() {
        return buckets;
    }

    public IntParam minExamples() {
        return minExamples;
    }

    public IntParam maxLength() {
        return maxLength;
    }

    public DoubleParam validFraction() {
        return validFraction;
    }

    public LongParam seed() {
        return seed;
    }

    public StringArrayParam conf() {
        return conf;
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

    // ---- setters and getters ----

    public SplitLoraEstimator setModelPath(String v) {
        set(modelPath, v);
        return this;
    }

    public String getModelPath() {
        return getOrDefault(modelPath);
    }

    public SplitLoraEstimator setMode(String v) {
        set(mode, v);
        return this;
    }

    public String getMode() {
        return getOrDefault(mode);
    }

    public SplitLoraEstimator setOutPath(String v) {
        set(outPath, v);
        return this;
    }

    public String getOutPath() {
        return getOrDefault(outPath);
    }

    public SplitLoraEstimator setPromptCol(String v) {
        set(promptCol, v);
        return this;
    }

    public String getPromptCol() {
        return getOrDefault(promptCol);
    }

    public SplitLoraEstimator setCompletionCol(String v) {
        set(completionCol, v);
        return this;
    }

    public String getCompletionCol() {
        return getOrDefault(completionCol);
    }

    public SplitLoraEstimator setTextCol(String v) {
        set(textCol, v);
        return this;
    }

    public String getTextCol() {
        return getOrDefault(textCol);
    }

    public SplitLoraEstimator setClientCol(String v) {
        set(clientCol, v);
        return this;
    }

    public String getClientCol() {
        return getOrDefault(clientCol);
    }

    public SplitLoraEstimator setNumClients(int v) {
        set(numClients, v);
        return this;
    }

    public int getNumClients() {
        return (Integer) getOrDefault(numClients);
    }

    public SplitLoraEstimator setPartition(String v) {
        set(partition, v);
        return this;
    }

    public String getPartition() {
        return getOrDefault(partition);
    }

    public SplitLoraEstimator setLabelCol(String v) {
        set(labelCol, v);
        return this;
    }

    public String getLabelCol() {
        return getOrDefault(labelCol);
    }

    public SplitLoraEstimator setAlpha(double v) {
        set(alpha, v);
        return this;
    }

    public double getAlpha() {
        return (Double) getOrDefault(alpha);
    }

    public SplitLoraEstimator setBuckets(int v) {
        set(buckets, v);
        return this;
    }

    public int getBuckets() {
        return (Integer) getOrDefault(buckets);
    }

    public SplitLoraEstimator setMinExamples(int v) {
        set(minExamples, v);
        return this;
    }

    public int getMinExamples() {
        return (Integer) getOrDefault(minExamples);
    }

    public SplitLoraEstimator setMaxLength(int v) {
        set(maxLength, v);
        return this;
    }

    public int getMaxLength() {
        return (Integer) getOrDefault(maxLength);
    }

    public SplitLoraEstimator setValidFraction(double v) {
        set(validFraction, v);
        return this;
    }

    public double getValidFraction() {
        return (Double) getOrDefault(validFraction);
    }

    public SplitLoraEstimator setSeed(long v) {
        set(seed, v);
        return this;
    }

    public long getSeed() {
        return (Long) getOrDefault(seed);
    }

    public SplitLoraEstimator setOutputCol(String v) {
        set(decoding.outputCol, v);
        return this;
    }

    public String getOutputCol() {
        return getOrDefault(decoding.outputCol);
    }

    public SplitLoraEstimator setStrategy(String v) {
        set(decoding.strategy, v);
        return this;
    }

    public SplitLoraEstimator setMaxNewTokens(int v) {
        set(decoding.maxNewTokens, v);
        return this;
    }

    public SplitLoraEstimator setNumBeams(int v) {
        set(decoding.numBeams, v);
        return this;
    }

    public SplitLoraEstimator setLengthPenalty(double v) {
        set(decoding.lengthPenalty, v);
        return this;
    }

    public SplitLoraEstimator setNoRepeatNgram(int v) {
        set(decoding.noRepeatNgram, v);
        return this;
    }

    public SplitLoraEstimator setTemperature(double v) {
        set(decoding.temperature, v);
        return this;
    }

    public SplitLoraEstimator setTopK(int v) {
        set(decoding.topK, v);
        return this;
    }

    public SplitLoraEstimator setTopP(double v) {
        set(decoding.topP, v);
        return this;
    }

    public SplitLoraEstimator setGenerationDevice(String v) {
        set(decoding.generationDevice, v);
        return this;
    }

    /**
     * Sets one {@code train --conf} key, e.g. {@code setConf("train.rounds", 2)} or {@code
     * setConf("lora.targets", List.of("q", "v"))}: a String is the value as typed after {@code
     * --set key=}, numbers, booleans, lists, maps and Durations become HOCON. An unknown key, a
     * value of the wrong type or a non-finite number fails here; ranges and the rules between keys
     * are checked, as for a conf file, when the whole configuration is assembled (transformSchema,
     * fit). Errors are one line naming the key. {@code model}, {@code mode}, {@code seed}, {@code
     * data.dir} and {@code out} are set by the Params of those names (data and run directory: outPath).
     */
    public SplitLoraEstimator setConf(String key, Object value) {
        String k = key == null ? "" : key.strip();
        for (Map.Entry<String, String> owned : OWNED_KEYS.entrySet()) {
            if (k.equals(owned.getKey()) || owned.getKey().startsWith(k + ".")) {
                throw new ConfigError("setConf " + k + ": set by the " + owned.getValue() + " Param, not setConf");
            }
        }
        if (k.equals("spark.master")) {
            throw new ConfigError("setConf spark.master: fit trains on the DataFrame's own SparkSession");
        }
        String entry = k + "=" + hocon(k, value);
        try {
            TrainConfig.checkOverride(entry);
        } catch (ConfigError e) {
            throw named(e);
        }
        Map<String, String> entries = confEntries();
        entries.remove(k);
        entries.put(k, entry);
        set(conf, entries.values().toArray(String[]::new));
        return this;
    }

    /** The setConf entries, key=value, in the order set. */
    public String[] getConf() {
        return getOrDefault(conf);
    }

    /** As Spark's, with the setConf entries listed (Spark prints an array's identity). */
    @Override
    public String explainParam(Param<?> param) {
        if (param != conf) {
            return super.explainParam(param);
        }
        return conf.name() + ": " + conf.doc() + " (default: [], current: [" + String.join(", ", getConf()) + "])";
    }

    private Map<String, String> confEntries() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : getConf()) {
            m.put(e.substring(0, e.indexOf('=')), e);
        }
        return m;
    }

    private static String hocon(String key, Object value) {
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof java.time.Duration d) {
            return d.toMillis() + "ms";
        }
        Object v = value instanceof Object[] a ? List.of(a) : value;
        if (v instanceof Number || v instanceof Boolean || v instanceof Collection || v instanceof Map) {
            return ConfigValueFactory.fromAnyRef(v).render(ConfigRenderOptions.concise());
        }
        throw new ConfigError("setConf " + key + ": " + (value == null ? "null" : "a " + value.getClass().getSimpleName())
                + " is not a config value (give a String, number, boolean, List, Map or Duration)");
    }

    /** A configuration error as the estimator's user sees it: the setConf or the Param that gave the key. */
    private static ConfigError named(ConfigError e) {
        String m = e.getMessage();
        if (m.startsWith("--set ")) {
            String entry = m.substring("--set ".length());
            for (Map.Entry<String, String> owned : OWNED_KEYS.entrySet()) {
                if (entry.startsWith(owned.getKey() + "=")) {
                    return new ConfigError(owned.getValue() + " " + entry.substring(owned.getKey().length() + 1));
                }
            }
            return new ConfigError("setConf " + entry);
        }
        return e;
    }

    /**
     * The training configuration fit runs: the defaults, the Params' keys and every setConf entry,
     * validated as {@code train --conf} validates a file; errors name the setConf or Param.
     */
    public TrainConfig trainConfig() {
        if (!isDefined(outPath)) {
            throw new IllegalArgumentException("outPath: must be set (a new directory for the prepared data and the run)");
        }
        List<String> keys = new ArrayList<>(List.of("model=" + getModelPath(), "mode=" + getMode(), "seed=" + getSeed(),
                "data.dir=" + dataDir(), "out=" + runDir()));
        keys.addAll(confEntries().values());
        try {
            return TrainConfig.load(null, keys);
        } catch (ConfigError e) {
            throw named(e);
        }
    }

    private String dataDir() {
        return new org.apache.hadoop.fs.Path(getOutPath(), "data").toString();
    }

    private String runDir() {
        return new org.apache.hadoop.fs.Path(getOutPath(), "run").toString();
    }

    private FitData.Columns columns() {
        boolean text = isDefined(textCol);
        return new FitData.Columns(text ? null : getPromptCol(), text ? null : getCompletionCol(), text ? getTextCol() : null,
                isDefined(clientCol) ? getClientCol() : null, isDefined(labelCol) ? getLabelCol() : null);
    }

    /**
     * Checks the training columns (string prompt and completion, or text; an integer or string
     * client column; the label for partition dirichlet) and the whole configuration; the schema
     * gains outputCol, as the fitted model's transform adds it.
     */
    @Override
    public StructType transformSchema(StructType schema) {
        FitData.Columns cols = columns();
        if (cols.text() != null) {
            requireColumn(schema, "textCol", cols.text(), DataTypes.StringType);
        } else {
            requireColumn(schema, "promptCol", cols.prompt(), DataTypes.StringType);
            requireColumn(schema, "completionCol", cols.completion(), DataTypes.StringType);
        }
        if (cols.client() != null) {
            requireColumn(schema, "clientCol", cols.client(), DataTypes.IntegerType, DataTypes.LongType, DataTypes.ShortType,
                    DataTypes.ByteType, DataTypes.StringType);
        } else {
            if (!isDefined(numClients)) {
                throw new IllegalArgumentException("numClients: must be set when there is no clientCol");
            }
            if (getPartition().equals("dirichlet")) {
                if (cols.label() == null) {
                    throw new IllegalArgumentException("labelCol: partition dirichlet needs a label column");
                }
                requireColumn(schema, "labelCol", cols.label(), DataTypes.StringType, DataTypes.IntegerType, DataTypes.LongType);
            }
        }
        trainConfig();
        return SplitLoraModel.withOutput(schema, getOutputCol());
    }

    static void requireColumn(StructType schema, String param, String column, DataType... types) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(param + ": no column '" + column + "' (columns: "
                    + String.join(", ", schema.fieldNames()) + ")");
        }
        DataType t = schema.apply(column).dataType();
        if (!Arrays.asList(types).contains(t)) {
            throw new IllegalArgumentException(param + ": column '" + column + "' is " + t.simpleString() + ", expected "
                    + String.join(" or ", Arrays.stream(types).map(DataType::simpleString).toList()));
        }
    }

    /**
     * Prepares the rows into {@code outPath/data}, trains on the DataFrame's SparkSession (left
     * running) into {@code outPath/run}, and returns the model with the run's final adapter.
     */
    @Override
    public SplitLoraModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema());
        TrainConfig cfg = trainConfig();
        SparkSession spark = dataset.sparkSession();
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        RunStore out = RunStore.at(getOutPath(), hadoop);
        if (out.status("") != null && (!out.isDirectory("") || !out.list("").isEmpty())) {
            throw new IllegalArgumentException("outPath: " + out + " already exists; fit writes source/, data/ and run/ "
                    + "into a new (or empty) directory");
        }
        FitData.Split split = new FitData.Split(PartitionMethod.parse(getPartition()),
                isDefined(numClients) ? getNumClients() : 1, getAlpha(), getBuckets(), getMinExamples());
        FitData.prepare(spark, dataset.toDF(), columns(), split, getSeed(), getMaxLength(), getValidFraction(),
                ModelSource.of(getModelPath()).tokenizerSpec(), out.path("source").toString(), cfg.data().dir());
        TrainedRun run = SplitLoraTrainer.of(cfg).fit(spark);
        SplitLoraModel model = new SplitLoraModel(uid, TrainedAdapter.fromRun(run.location(), getModelPath(), hadoop));
        return copyValues(model, ParamMap.empty()).setParent(this);
    }

    @Override
    public SplitLoraEstimator copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads an estimator {@code write().save(path)} wrote (Spark ML's Params metadata). */
    public static MLReader<SplitLoraEstimator> read() {
        return new DefaultParamsReadable<SplitLoraEstimator>() {}.read();
    }

    public static SplitLoraEstimator load(String path) {
        return read().load(path);
    }
}
