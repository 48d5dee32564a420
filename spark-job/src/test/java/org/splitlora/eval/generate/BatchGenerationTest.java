package org.splitlora.eval.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.cli.CliRun;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.eval.metrics.E2eScorer;
import org.splitlora.eval.metrics.E2eScores;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.LoraTestSupport;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.peft.PeftAdapter;
import org.splitlora.testutil.Fixtures;

/** Generation as a Spark job against the same generation in one process; the eval command on top. */
@Tag("fixtures")
class BatchGenerationTest {

    private static final String MODEL = Fixtures.stories260k().toString();
    private static final List<String> MRS = List.of(
            "name[Alimentum], area[city centre], familyFriendly[no]",
            "name[Aromi], eatType[coffee shop], food[Chinese], area[riverside]",
            "name[The Eagle], priceRange[cheap], near[Burger King]",
            "name[Cotto], food[Italian], customer rating[5 out of 5]",
            "name[Zizzi], eatType[pub], familyFriendly[yes]");

    @TempDir
    static Path tmp;
    static Path adapterDir;

    @BeforeAll
    static void writeAdapter() {
        ModelSource source = ModelSource.of(MODEL);
        LoraSpec spec = new LoraSpec(EnumSet.allOf(LoraTarget.class), 4, 8, 0.0, Map.of());
        adapterDir = tmp.resolve("adapter");
        try (NDManager root = NDManager.newBaseManager();
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, source.config().numLayers(), 5)) {
            LoraTestSupport.randomize(lora, 11, 0.2);
            PeftAdapter.write(adapterDir, source.config(), spec, lora.toFloats(), MODEL);
        }
    }

    private static List<String> contexts() {
        return MRS.stream().map(PromptCompletionFormat::e2eContext).toList();
    }

    @Test
    void twoTasksGiveTheOutputsOfOneProcess() {
        ModelSource source = ModelSource.of(MODEL);
        AdapterWeights weights = AdapterWeights.read(adapterDir, source.config());
        GenerationConfig cfg = GenerationConfig.beam(16, 3, 0.8, 4, Set.of(source.config().eosTokenId()));
        List<String> local = BatchGeneration.local(MODEL, DeviceChoice.CPU, weights, cfg, contexts());
        SparkSession spark = SparkSession.builder().getOrCreate();
        List<Row> rows = BatchGeneration.onExecutors(spark, MODEL, DeviceChoice.CPU, weights, cfg, contexts(), 2).orderBy("index").collectAsList();
        List<String> distributed = rows.stream().map(r -> r.getString(2)).toList();
        assertEquals(local, distributed);
        assertEquals(contexts(), rows.stream().map(r -> r.getString(1)).toList());
        assertTrue(local.stream().allMatch(s -> !s.isEmpty()), local.toString());
        // the adapter is applied: the base model alone says something else
        assertNotEquals(local, BatchGeneration.local(MODEL, DeviceChoice.CPU, null, cfg, contexts()));
    }

    @Test
    void evalScoresWhatItGenerates() throws Exception {
        Path csv = tmp.resolve("test.csv");
        List<String> lines = new ArrayList<>(List.of("mr,ref"));
        for (String mr : MRS) {
            lines.add("\"" + mr + "\",\"" + mr.substring(5, mr.indexOf(']')) + " is a nice place.\"");
            lines.add("\"" + mr + "\",\"You can eat at " + mr.substring(5, mr.indexOf(']')) + ".\"");
        }
        Files.write(csv, lines, StandardCharsets.UTF_8);
        Path preds = tmp.resolve("preds");
        CliRun r = CliRun.of("eval", "--model", MODEL, "--adapter", adapterDir.toString(), "--data", csv.toString(),
                "--beam", "3", "--max-new-tokens", "16", "--partitions", "2", "--predictions", preds.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> out = new Gson().fromJson(r.out(), new TypeToken<Map<String, Object>>() {}.getType());
        assertEquals(10.0, out.get("examples"));
        assertEquals(5.0, out.get("mrs"));
        double loss = (Double) out.get("loss");
        assertEquals(Math.exp(loss), (Double) out.get("ppl"), 1e-6 * Math.exp(loss));
        // the written predictions, scored on their own, give the reported metrics
        List<String> outputs = new ArrayList<>(MRS.size());
        try (Stream<Path> files = Files.list(preds)) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    rows.add(new Gson().fromJson(line, new TypeToken<Map<String, Object>>() {}.getType()));
                }
            }
            rows.sort((a, b) -> Double.compare((Double) a.get("index"), (Double) b.get("index")));
            rows.forEach(row -> outputs.add((String) row.get("output")));
        }
        assertEquals(MRS.size(), outputs.size());
        List<List<String>> refs = new ArrayList<>();
        for (int i = 1; i < lines.size(); i += 2) {
            refs.add(List.of(lines.get(i).split("\",\"")[1].replace("\"", ""), lines.get(i + 1).split("\",\"")[1].replace("\"", "")));
        }
        E2eScores expected = E2eScorer.score(refs, outputs);
        expected.asMap().forEach((k, v) -> assertEquals(v, (Double) out.get(k), 1e-12, k));
    }

    @Test
    void evalRejectsAnUnknownMetric() {
        CliRun r = CliRun.of("eval", "--model", MODEL, "--data", "x.csv", "--metrics", "bleu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--metrics: unknown metric 'bleu'"), r.err());
    }
}
