package org.splitlora.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamPair;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.config.TrainConfig;

/** The estimator's Params as Spark ML sees them: uid, copy, explainParams, save/load, and setConf's validation. */
class SplitLoraParamsTest {

    private static final StructType ROWS = new StructType().add("client", DataTypes.IntegerType)
            .add("prompt", DataTypes.StringType).add("completion", DataTypes.StringType);

    @TempDir
    Path tmp;

    @BeforeAll
    static void session() {
        SparkSession.builder().master("local[2]").appName("ml params test").getOrCreate();
    }

    private SplitLoraEstimator configured() {
        return new SplitLoraEstimator().setModelPath("builtin:tiny-gpt2").setOutPath(tmp.resolve("out").toString())
                .setClientCol("client").setMode("fl").setSeed(7).setValidFraction(0.1).setMaxNewTokens(12).setStrategy("beam")
                .setConf("train.rounds", 3).setConf("lora.targets", List.of("q", "v", "up")).setConf("optimizer.lr", 1e-3)
                .setConf("split.stepTimeout", Duration.ofSeconds(90)).setConf("export.mergedModel", true)
                .setConf("train.rounds", 2);
    }

    /** Every Param's value (set or default) by name, as text. */
    private static Map<String, String> values(Params p) {
        Map<String, String> m = new TreeMap<>();
        for (ParamPair<?> pair : p.extractParamMap().toList()) {
            Object v = pair.value();
            m.put(pair.param().name(), v instanceof String[] a ? Arrays.toString(a) : String.valueOf(v));
        }
        return m;
    }

    @Test
    void setConfEntriesReachTheTrainingConfigurationAndTheLastSetWins() {
        SplitLoraEstimator e = configured();
        assertArrayEquals(new String[] {"lora.targets=[\"q\",\"v\",\"up\"]", "optimizer.lr=0.001", "split.stepTimeout=90000ms",
                "export.mergedModel=true", "train.rounds=2"}, e.getConf());
        TrainConfig cfg = e.trainConfig();
        assertEquals(2, cfg.train().rounds());
        assertEquals(1e-3, cfg.resolved().getDouble("optimizer.lr"), 0);
        assertEquals(Duration.ofSeconds(90), cfg.split().stepTimeout());
        assertEquals(List.of("q", "v", "up"), cfg.resolved().getStringList("lora.targets"));
        assertTrue(cfg.exportMergedModel());
        assertEquals("fl", cfg.mode().key());
        assertEquals(7, cfg.seed());
        assertEquals("builtin:tiny-gpt2", cfg.model());
        assertTrue(cfg.out().endsWith("/out/run") && cfg.data().dir().endsWith("/out/data"), cfg.out() + " " + cfg.data().dir());
    }

    @Test
    void uidCopyAndExplainParams() {
        SplitLoraEstimator e = configured();
        assertTrue(e.uid().startsWith("splitLora_"), e.uid());
        assertTrue(!new SplitLoraEstimator().uid().equals(e.uid()), "a fresh uid per estimator");

        SplitLoraEstimator copy = e.copy(new ParamMap().put(e.maxNewTokens().w(5)).put(e.mode().w("sfl")));
        assertNotSame(e, copy);
        assertEquals(e.uid(), copy.uid());
        assertEquals(5, (Integer) copy.getOrDefault(copy.maxNewTokens()));
        assertEquals("sfl", copy.getMode());
        assertEquals(12, (Integer) e.getOrDefault(e.maxNewTokens()), "the original keeps its values");
        Map<String, String> expected = values(e);
        expected.put("maxNewTokens", "5");
        expected.put("mode", "sfl");
        assertEquals(expected, values(copy));

        String explained = e.explainParams();
        assertEquals(27, e.params().length, Arrays.toString(e.params()));
        for (Param<?> p : e.params()) {
            assertTrue(explained.contains(p.name() + ": "), p.name());
        }
        assertTrue(explained.contains("modelPath: base model: an HF model directory"), explained);
        assertTrue(explained.contains("generationDevice: where transform generates on each executor: auto (a GPU when PyTorch "
                + "sees one, else cpu) | cpu | gpu (default: auto)"), explained);
        assertTrue(explained.contains("partition: how rows are spread over numClients without clientCol: iid | dirichlet | "
                + "length-dirichlet (as prepare --partition) (default: iid)"), explained);
        assertTrue(explained.contains("mode: training mode: central | fl | sl | sfl | splitft (default: sfl, current: fl)"), explained);
        assertTrue(explained.contains("maxNewTokens: most tokens generated per prompt (fewer at EOS) (default: 64, current: 12)"),
                explained);
        assertTrue(explained.contains("conf: train --conf keys as key=value (HOCON values), set by setConf (default: [], current: "
                + "[lora.targets=[\"q\",\"v\",\"up\"], optimizer.lr=0.001, split.stepTimeout=90000ms, export.mergedModel=true, "
                + "train.rounds=2])"), explained);
    }

    @Test
    void paramsSurviveSaveAndLoadAloneAndInAPipeline() throws Exception {
        SplitLoraEstimator e = configured();
        String dir = tmp.resolve("estimator").toString();
        e.write().save(dir);
        SplitLoraEstimator loaded = SplitLoraEstimator.load(dir);
        assertEquals(e.uid(), loaded.uid());
        assertEquals(values(e), values(loaded));
        assertEquals(e.explainParams(), loaded.explainParams());
        assertEquals(e.trainConfig().toJson(), loaded.trainConfig().toJson());
        assertThrows(java.io.IOException.class, () -> e.write().save(dir), "an existing path needs overwrite()");
        e.setNumBeams(3).write().overwrite().save(dir);
        assertEquals(3, (Integer) SplitLoraEstimator.load(dir).getOrDefault(loaded.numBeams()));

        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {e});
        String pipeDir = tmp.resolve("pipeline").toString();
        pipeline.write().save(pipeDir);
        PipelineStage[] stages = Pipeline.load(pipeDir).getStages();
        assertEquals(1, stages.length);
        SplitLoraEstimator stage = assertInstanceOf(SplitLoraEstimator.class, stages[0]);
        assertEquals(values(e), values(stage));
    }

    private static String oneLineError(Executable bad) {
        IllegalArgumentException err = assertThrows(IllegalArgumentException.class, bad);
        assertEquals(1, err.getMessage().lines().count(), err.getMessage());
        return err.getMessage();
    }

    @Test
    void aBadSetConfFailsInOneLineNamingTheKey() {
        SplitLoraEstimator e = configured();
        assertEquals("setConf train.roundz=2: unknown key 'train.roundz'", oneLineError(() -> e.setConf("train.roundz", 2)));
        assertTrue(oneLineError(() -> e.setConf("train.rounds", "many")).startsWith("setConf train.rounds=many: train.rounds"));
        assertTrue(oneLineError(() -> e.setConf("optimizer.lr", Double.NaN))
                .startsWith("setConf optimizer.lr=NaN: optimizer.lr must be a finite number"));
        assertTrue(oneLineError(() -> e.setConf("lora", 3)).startsWith("setConf lora=3: "));
        assertEquals("setConf model: set by the modelPath Param, not setConf", oneLineError(() -> e.setConf("model", "x")));
        assertEquals("setConf data: set by the outPath Param, not setConf", oneLineError(() -> e.setConf("data", Map.of())));
        assertEquals("setConf spark.master: fit trains on the DataFrame's own SparkSession",
                oneLineError(() -> e.setConf("spark.master", "local[1]")));
        assertEquals("setConf train.rounds: a Object is not a config value (give a String, number, boolean, List, Map or Duration)",
                oneLineError(() -> e.setConf("train.rounds", new Object())));
        assertArrayEquals(configured().getConf(), e.getConf(), "a refused setConf changes nothing");

        // ranges and the rules between keys: checked once the configuration is whole, before fit does any work
        e.setConf("train.batchSize", 4);
        assertEquals("defaults: train.microBatchSize must be <= train.batchSize (4), got 8", oneLineError(() -> e.transformSchema(ROWS)));
        e.setConf("train.microBatchSize", 4);
        e.transformSchema(ROWS);
        e.setConf("lora.rank", 0);
        assertEquals("setConf lora.rank=0: lora.rank must be >= 1, got 0", oneLineError(() -> e.transformSchema(ROWS)));
        e.setConf("lora.rank", 4).setConf("split.cut", 9).setMode("sfl");
        assertTrue(oneLineError(() -> e.fit(SparkSession.active().emptyDataFrame()))
                .startsWith("promptCol: no column 'prompt'"));
        assertTrue(oneLineError(() -> e.transformSchema(ROWS)).startsWith("setConf split.cut=9: split.cut must be in [1, 3]"));
        assertEquals("modelPath /no/such/model: model: /no/such/model: model directory not found",
                oneLineError(() -> e.setConf("split.cut", 2).setModelPath("/no/such/model").transformSchema(ROWS)));
    }

    @Test
    void fitRefusesRowsPrepareWouldRejectAndAUsedOutPathBeforeWritingAnything() throws Exception {
        SparkSession spark = SparkSession.active();
        List<org.apache.spark.sql.Row> blank = List.of(org.apache.spark.sql.RowFactory.create(0, "a", "b"),
                org.apache.spark.sql.RowFactory.create(1, "c", "  "), org.apache.spark.sql.RowFactory.create(null, "e", "f"));
        SplitLoraEstimator e = configured();
        assertEquals("completionCol 'completion': 1 of 3 rows are null or blank",
                oneLineError(() -> e.fit(spark.createDataFrame(blank, ROWS))));
        assertEquals("clientCol 'client': 1 of 2 rows are null or blank",
                oneLineError(() -> e.fit(spark.createDataFrame(blank.subList(0, 1), ROWS).union(
                        spark.createDataFrame(blank.subList(2, 3), ROWS)))));
        assertTrue(!java.nio.file.Files.exists(tmp.resolve("out")), "nothing written");
        java.nio.file.Files.createDirectories(tmp.resolve("out/run"));
        assertTrue(oneLineError(() -> e.fit(spark.createDataFrame(blank.subList(0, 1), ROWS))).startsWith("outPath: file:"
                + tmp.resolve("out") + " already exists; fit writes source/, data/ and run/ into a new (or empty) directory"));
    }

    @Test
    void transformSchemaChecksTheColumnsFitReads() {
        SplitLoraEstimator e = configured();
        StructType out = e.transformSchema(ROWS);
        assertEquals(ROWS.add("generated", DataTypes.StringType, true), out);
        StructType doubleClient = new StructType().add("client", DataTypes.DoubleType).add("prompt", DataTypes.StringType)
                .add("completion", DataTypes.StringType);
        assertEquals("clientCol: column 'client' is double, expected int or bigint or smallint or tinyint or string",
                oneLineError(() -> e.transformSchema(doubleClient)));
        SplitLoraEstimator partitioned = configured();
        partitioned.clear(partitioned.clientCol());
        assertEquals("numClients: must be set when there is no clientCol", oneLineError(() -> partitioned.transformSchema(ROWS)));
        partitioned.setNumClients(2).setPartition("dirichlet");
        assertEquals("labelCol: partition dirichlet needs a label column", oneLineError(() -> partitioned.transformSchema(ROWS)));
        assertEquals(ROWS.add("generated", DataTypes.StringType, true), partitioned.setPartition("iid").transformSchema(ROWS));
        StructType text = new StructType().add("story", DataTypes.StringType).add("client", DataTypes.LongType);
        assertEquals(text.add("generated", DataTypes.StringType, true), configured().setTextCol("story").transformSchema(text));
        assertEquals("outputCol: column 'completion' already exists",
                oneLineError(() -> configured().setOutputCol("completion").transformSchema(ROWS)));
        assertThrows(IllegalArgumentException.class, () -> e.setPartition("label"), "label is clientCol's partition");
        assertThrows(IllegalArgumentException.class, () -> e.setStrategy("nucleus"));
    }
}
