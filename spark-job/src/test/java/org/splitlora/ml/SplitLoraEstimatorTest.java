package org.splitlora.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.eval.generate.BatchGeneration;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.ModelSource;
import org.splitlora.testutil.Fixtures;

/**
 * The Spark ML API end to end on stories260k and E2E rows: fit on a DataFrame of (client, prompt,
 * completion) == {@code prepare} + {@code train} on the same rows and seed (same shards, per-round
 * losses, adapter); transform == generation with the CLI run's adapter; save/load and a saved
 * PipelineModel give the same outputs. Four trainings and five prepares, about 2 minutes on 2 shared
 * cores: tagged slow.
 */
@Tag("slow")
@Tag("fixtures")
class SplitLoraEstimatorTest {

    private static final String MODEL = Fixtures.stories260k().toString();
    private static final long SEED = 7;
    /** What both paths train with: --set for the CLI, setConf for the estimator. */
    private static final Map<String, Object> CONF = new LinkedHashMap<>();

    static {
        CONF.put("split.cut", 2);
        CONF.put("train.rounds", 2);
        CONF.put("train.localSteps", 2);
        CONF.put("train.batchSize", 4);
        CONF.put("train.microBatchSize", 4);
        CONF.put("train.evalEvery", 1);
        CONF.put("lora.targets", List.of("q", "v"));
        CONF.put("lora.rank", 4);
        CONF.put("optimizer.lr", 1e-2);
        CONF.put("optimizer.warmupSteps", 1);
        CONF.put("data.maxValidExamples", 4);
    }

    private static final StructType TRAIN = new StructType().add("client", DataTypes.IntegerType)
            .add("prompt", DataTypes.StringType).add("completion", DataTypes.StringType);
    private static final StructType PROMPTS = new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);

    @TempDir
    static Path tmp;
    static List<Row> rows;
    static Path cliData;
    static Path cliRun;
    static SparkSession spark;

    /**
     * 40 E2E training rows (recipe prompt, reference) over 2 clients, through the CLI: prepare
     * (JSONL), then train; and their references as plain text, prepared.
     */
    @BeforeAll
    static void trainByCli() throws IOException {
        rows = new ArrayList<>();
        Path csv = Fixtures.e2eTrainHead(tmp.resolve("e2e.csv"), 40);
        try (Reader in = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            int i = 0;
            for (CSVRecord r : CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(in)) {
                rows.add(RowFactory.create(i++ % 2, PromptCompletionFormat.e2eContext(r.get("mr")), r.get("ref")));
            }
        }
        Path jsonl = tmp.resolve("rows.jsonl");
        try (Writer w = Files.newBufferedWriter(jsonl, StandardCharsets.UTF_8)) {
            for (Row r : rows) {
                w.write(new Gson().toJson(Map.of("client", r.getInt(0), "prompt", r.getString(1), "completion", r.getString(2))) + "\n");
            }
        }
        cliData = tmp.resolve("cli-data");
        CliRun prepared = CliRun.of("prepare", "--input", jsonl.toString(), "--format", "jsonl", "--tokenizer", MODEL,
                "--clients", "2", "--partition", "label", "--label-field", "client", "--valid-fraction", "0.1",
                "--seed", String.valueOf(SEED), "--out", cliData.toString());
        assertEquals(0, prepared.code(), prepared.err());
        cliRun = tmp.resolve("cli-run");
        List<String> train = new ArrayList<>(List.of("train", "--set", "model=" + MODEL, "--set", "mode=sfl", "--set",
                "seed=" + SEED, "--set", "data.dir=" + cliData, "--set", "out=" + cliRun));
        CONF.forEach((k, v) -> train.addAll(List.of("--set", k + "=" + (v instanceof List<?> l ? "[" + String.join(",",
                l.stream().map(Object::toString).toList()) + "]" : v))));
        CliRun trained = CliRun.of(train.toArray(String[]::new));
        assertEquals(0, trained.code(), trained.err());

        // the same rows' completions as plain text, spread over 3 clients by length (prepare stops the session it uses: first)
        Path text = tmp.resolve("text.jsonl");
        try (Writer w = Files.newBufferedWriter(text, StandardCharsets.UTF_8)) {
            for (Row r : rows) {
                w.write(new Gson().toJson(Map.of("text", r.getString(2))) + "\n");
            }
        }
        CliRun textPrepared = CliRun.of("prepare", "--input", text.toString(), "--format", "jsonl", "--jsonl-style", "text",
                "--tokenizer", MODEL, "--clients", "3", "--partition", "length-dirichlet", "--alpha", "1", "--buckets", "2",
                "--min-examples", "4", "--max-length", "24", "--valid-fraction", "0.1", "--seed", "5", "--out",
                tmp.resolve("text-cli").toString());
        assertEquals(0, textPrepared.code(), textPrepared.err());
        // the in-process CLI can leave its session behind; the estimator trains on one the caller made
        for (scala.Option<SparkSession> left : List.of(SparkSession.getActiveSession(), SparkSession.getDefaultSession())) {
            if (left.isDefined()) {
                left.get().stop();
            }
        }
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
        spark = SparkSession.builder().master("local[2]").appName("ml estimator test").getOrCreate();
        assertEquals("local[2]", spark.sparkContext().master());
    }

    private static SplitLoraEstimator estimator(Path out) {
        SplitLoraEstimator e = new SplitLoraEstimator().setModelPath(MODEL).setMode("sfl").setSeed(SEED).setClientCol("client")
                .setValidFraction(0.1).setOutPath(out.toString()).setMaxNewTokens(16);
        CONF.forEach(e::setConf);
        return e;
    }

    private static Dataset<Row> prompts() {
        List<Row> p = new ArrayList<>();
        List<String> mrs = List.of("name[Alimentum], area[city centre], familyFriendly[no]",
                "name[Aromi], eatType[coffee shop], food[Chinese], area[riverside]",
                "name[The Eagle], priceRange[cheap], near[Burger King]");
        for (int i = 0; i < mrs.size(); i++) {
            p.add(RowFactory.create(i, PromptCompletionFormat.e2eContext(mrs.get(i))));
        }
        p.add(RowFactory.create(mrs.size(), null));
        return spark.createDataFrame(p, PROMPTS);
    }

    private static List<String> outputs(Dataset<Row> transformed) {
        return transformed.orderBy("id").collectAsList().stream().map(r -> r.<String>getAs("generated")).toList();
    }

    private static List<JsonObject> metrics(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    private static void assertSameLosses(Path expectedRun, Path run) throws IOException {
        List<JsonObject> a = metrics(expectedRun);
        List<JsonObject> b = metrics(run);
        assertEquals(2, a.size());
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String key : List.of("train_loss", "val_loss")) {
                assertEquals(a.get(i).get(key).getAsDouble(), b.get(i).get(key).getAsDouble(), 1e-6, "round " + (i + 1) + " " + key);
            }
        }
    }

    private static String contentHash(Path data) throws IOException {
        return JsonParser.parseString(Files.readString(data.resolve("manifest.json"))).getAsJsonObject().get("content_hash").getAsString();
    }

    @Test
    void fitTransformSaveLoadMatchesTheCliRun() throws IOException {
        Path out = tmp.resolve("ml");
        SplitLoraModel model = estimator(out).fit(spark.createDataFrame(rows, TRAIN));
        assertFalse(spark.sparkContext().isStopped(), "fit leaves the caller's session running");

        // the same shards as prepare wrote, the same per-round losses and adapter as train
        assertEquals(contentHash(cliData), contentHash(out.resolve("data")));
        assertEquals(contentHash(cliData), model.dataHash());
        assertSameLosses(cliRun, out.resolve("run"));
        AdapterWeights byCli = AdapterWeights.read(cliRun.resolve("adapter"), ModelSource.of(MODEL).config());
        assertEquals(byCli.values().keySet(), model.adapter().values().keySet());
        byCli.values().forEach((k, v) -> assertArrayEquals(v, model.adapter().values().get(k), 1e-6f, k));
        assertEquals(SEED, model.trainingSeed());
        assertEquals(MODEL, model.baseModel());
        assertEquals(2, JsonParser.parseString(model.trainingConfig()).getAsJsonObject().getAsJsonObject("train").get("rounds").getAsInt());

        // transform: generation with the CLI run's adapter, on executors; a null prompt gives a null output
        List<String> generated = outputs(model.transform(prompts()));
        List<String> contexts = prompts().orderBy("id").collectAsList().stream().map(r -> r.getString(1)).limit(3).toList();
        assertEquals(BatchGeneration.local(MODEL, DeviceChoice.CPU, byCli, model.generationConfig(), contexts), generated.subList(0, 3));
        assertTrue(generated.subList(0, 3).stream().noneMatch(String::isEmpty), generated.toString());
        assertNull(generated.get(3));
        assertNotEquals(BatchGeneration.local(MODEL, DeviceChoice.CPU, null, model.generationConfig(), contexts), generated.subList(0, 3),
                "the trained adapter changes the outputs");

        // save and load: same Params, provenance and outputs; the saved adapter is the run's, byte for byte
        Path saved = tmp.resolve("model");
        model.write().save(saved.toString());
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(out.resolve("run/adapter").resolve(f)), Files.readAllBytes(saved.resolve("adapter").resolve(f)), f);
        }
        SplitLoraModel loaded = SplitLoraModel.load(saved.toString());
        assertEquals(model.uid(), loaded.uid());
        assertEquals(16, loaded.getMaxNewTokens());
        assertEquals(model.dataHash(), loaded.dataHash());
        assertEquals(model.trainingConfig(), loaded.trainingConfig());
        assertEquals(model.runDir(), loaded.runDir());
        assertEquals(generated, outputs(loaded.transform(prompts())));
        loaded.setMaxNewTokens(8).write().overwrite().save(saved.toString());
        assertEquals(8, SplitLoraModel.load(saved.toString()).getMaxNewTokens(), "overwrite() replaces a saved model");
        loaded.setMaxNewTokens(16);
        assertEquals(0, CliRun.of("generate", "--model", MODEL, "--adapter", saved.resolve("adapter").toString(),
                "--prompt", "Once", "--max-new-tokens", "4").code(), "the saved adapter is a PEFT adapter generate reads");
        assertNotEquals(generated, outputs(loaded.setStrategy("beam").setNumBeams(3).setMaxNewTokens(4).transform(prompts())));
    }

    @Test
    void plainTextRowsSpreadByThePartitionerArePreparedAsPrepareDoes() throws IOException {
        Path cli = tmp.resolve("text-cli");
        List<Row> text = rows.stream().map(r -> RowFactory.create(r.getString(2))).toList();
        Path out = tmp.resolve("text-ml");
        SplitLoraEstimator e = new SplitLoraEstimator().setModelPath(MODEL).setMode("central").setSeed(5).setTextCol("text")
                .setNumClients(3).setPartition("length-dirichlet").setAlpha(1).setBuckets(2).setMinExamples(4).setMaxLength(24)
                .setValidFraction(0.1).setOutPath(out.toString()).setConf("train.rounds", 1).setConf("train.localSteps", 1)
                .setConf("train.batchSize", 2).setConf("train.microBatchSize", 2);
        SplitLoraModel model = e.fit(spark.createDataFrame(text, new StructType().add("text", DataTypes.StringType)));
        assertEquals(contentHash(cli), contentHash(out.resolve("data")));
        assertEquals(contentHash(cli), model.dataHash());
        JsonObject manifest = JsonParser.parseString(Files.readString(out.resolve("data/manifest.json"))).getAsJsonObject();
        assertEquals(3, manifest.getAsJsonArray("clients").size());
        assertEquals("length-dirichlet", manifest.getAsJsonObject("partition").get("method").getAsString());
        assertEquals(1, metrics(out.resolve("run")).size());
        assertEquals("central", JsonParser.parseString(model.trainingConfig()).getAsJsonObject().get("mode").getAsString());
    }

    @Test
    void aSavedAndReloadedPipelineModelGeneratesAsTheFittedOne() throws IOException {
        // raw columns renamed by a preceding stage, the estimator last
        Dataset<Row> raw = spark.createDataFrame(rows, TRAIN).toDF("site", "context", "ref");
        SQLTransformer columns = new SQLTransformer().setStatement("SELECT *, context AS prompt FROM __THIS__");
        Path out = tmp.resolve("pipeline-fit");
        SplitLoraEstimator e = estimator(out).setClientCol("site").setCompletionCol("ref");
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {columns, e}).fit(raw);
        assertFalse(spark.sparkContext().isStopped());
        assertSameLosses(cliRun, out.resolve("run"));
        SplitLoraModel stage = assertInstanceOf(SplitLoraModel.class, fitted.stages()[1]);
        assertEquals(e.uid(), stage.uid());
        assertEquals(16, stage.getMaxNewTokens(), "the estimator's decoding Params reach its model");

        Dataset<Row> in = prompts().toDF("id", "context");
        List<String> generated = outputs(fitted.transform(in));
        Path saved = tmp.resolve("pipeline-model");
        fitted.write().save(saved.toString());
        PipelineModel reloaded = PipelineModel.load(saved.toString());
        assertEquals(generated, outputs(reloaded.transform(in)));
        assertEquals(List.of("id", "context", "prompt", "generated"), List.of(reloaded.transform(in).columns()));
        AdapterWeights byCli = AdapterWeights.read(cliRun.resolve("adapter"), ModelSource.of(MODEL).config());
        List<String> contexts = in.orderBy("id").collectAsList().stream().map(r -> r.getString(1)).limit(3).toList();
        assertEquals(BatchGeneration.local(MODEL, DeviceChoice.CPU, byCli, stage.generationConfig(), contexts), generated.subList(0, 3));
    }
}
