package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.eval.metrics.E2eScorer;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.testutil.SyntheticShards;
import org.splitlora.train.Evaluator;

/**
 * {@code eval} beyond E2E CSV: JSONL prompt/completion rows (ppl == {@link Evaluator} on the rows
 * encoded here by hand; generation scored against completions grouped by prompt) and a prepared
 * split (ppl == {@link Evaluator} on the stored tokens read here); the E2E output keys unchanged.
 */
class EvalInputsTest {

    private static final String MODEL = "builtin:tiny-gpt2";

    @TempDir
    static Path tmp;
    static SparkSession spark;
    static List<SyntheticE2E.Pair> pairs;
    static Path jsonl;

    /** One session for the class: the commands run in it and leave it running. */
    @BeforeAll
    static void setUp() throws IOException {
        spark = SparkSession.builder().master(System.getProperty("spark.master", "local[2]")).appName("eval inputs test")
                .getOrCreate();
        pairs = SyntheticE2E.generate(12, 3);
        jsonl = tmp.resolve("pairs.jsonl");
        List<String> lines = new ArrayList<>();
        for (SyntheticE2E.Pair p : pairs) {
            JsonObject o = new JsonObject();
            o.addProperty("q", PromptCompletionFormat.e2eContext(p.mr()));
            o.addProperty("a", p.ref());
            o.addProperty("other", 1);
            lines.add(o.toString());
        }
        Files.write(jsonl, lines);
    }

    /** The --json result (without a null adapter, which the JSON leaves out). */
    private static Map<String, Object> json(CliRun r) {
        assertEquals(0, r.code(), r.err());
        return new Gson().fromJson(r.out(), new TypeToken<LinkedHashMap<String, Object>>() {}.getType());
    }

    /** Prompt tokens, EOS separator, " " + completion tokens, EOS; targets from the separator on; cut at {@code max}. */
    private static TokenizedExample byHand(TextTokenizer tok, long id, String prompt, String completion, int max) {
        int[] p = tok.encode(prompt, true);
        int[] c = tok.encode(" " + completion, false);
        int n = p.length + c.length + 2;
        int[] ids = new int[n];
        byte[] mask = new byte[n];
        System.arraycopy(p, 0, ids, 0, p.length);
        ids[p.length] = tok.eosTokenId();
        System.arraycopy(c, 0, ids, p.length + 1, c.length);
        ids[n - 1] = tok.eosTokenId();
        Arrays.fill(mask, p.length + 1, n, (byte) 1);
        return new TokenizedExample(id, Arrays.copyOf(ids, Math.min(n, max)), Arrays.copyOf(mask, Math.min(n, max)));
    }

    private static double evaluatorLoss(List<TokenizedExample> examples) {
        ModelSource source = ModelSource.of(MODEL);
        try (NDManager root = NDManager.newBaseManager(); DecoderModel m = source.loadWhole(root)) {
            return Evaluator.evaluate(m, null, examples, 8).loss();
        }
    }

    @Test
    void jsonlPerplexityIsTheLossOfTheRowsEncodedAsTrainingEncodesThem() {
        List<TokenizedExample> examples = new ArrayList<>();
        int maxLength;
        try (TextTokenizer tok = ModelSource.of(MODEL).tokenizer()) {
            int longestPrompt = 0;
            for (SyntheticE2E.Pair p : pairs) {
                longestPrompt = Math.max(longestPrompt, tok.encode(PromptCompletionFormat.e2eContext(p.mr()), true).length);
            }
            maxLength = longestPrompt + 4; // some rows are cut, none loses every target
            for (SyntheticE2E.Pair p : pairs) {
                examples.add(byHand(tok, examples.size(), PromptCompletionFormat.e2eContext(p.mr()), p.ref(), maxLength));
            }
            int cut = maxLength;
            assertTrue(pairs.stream().anyMatch(p -> byHand(tok, 0, PromptCompletionFormat.e2eContext(p.mr()), p.ref(),
                    Integer.MAX_VALUE).inputIds().length > cut), "the test truncates some row");
        }
        Map<String, Object> out = json(CliRun.of("eval", "--model", MODEL, "--data", jsonl.toString(), "--format", "jsonl",
                "--prompt-col", "q", "--completion-col", "a", "--max-length", String.valueOf(maxLength), "--metrics", "ppl",
                "--json"));
        assertEquals(List.of("model", "examples", "loss", "ppl"), List.copyOf(out.keySet()));
        assertEquals((double) pairs.size(), out.get("examples"));
        assertEquals(evaluatorLoss(examples), (Double) out.get("loss"), 1e-6);

        Map<String, Object> first5 = json(CliRun.of("eval", "--model", MODEL, "--data", jsonl.toString(), "--format", "jsonl",
                "--prompt-col", "q", "--completion-col", "a", "--max-length", String.valueOf(maxLength), "--metrics", "ppl",
                "--max-examples", "5", "--json"));
        assertEquals(evaluatorLoss(examples.subList(0, 5)), (Double) first5.get("loss"), 1e-6);
    }

    @Test
    void jsonlGenerationIsScoredAgainstTheCompletionsOfEachPrompt() throws IOException {
        // every prompt twice, with two completions: one reference group of two per distinct prompt
        Path twice = tmp.resolve("twice.jsonl");
        List<String> lines = new ArrayList<>();
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (SyntheticE2E.Pair p : pairs.subList(0, 4)) {
            String prompt = PromptCompletionFormat.e2eContext(p.mr());
            for (String completion : List.of(p.ref(), "It is called " + p.attributes().get("name") + ".")) {
                lines.add(new Gson().toJson(Map.of("prompt", prompt, "completion", completion)));
                groups.computeIfAbsent(prompt, k -> new ArrayList<>()).add(completion);
            }
        }
        Files.write(twice, lines);
        Path preds = tmp.resolve("preds");
        Map<String, Object> out = json(CliRun.of("eval", "--model", MODEL, "--data", twice.toString(), "--format", "jsonl",
                "--metrics", "gen", "--beam", "2", "--max-new-tokens", "6", "--partitions", "2",
                "--predictions", preds.toString(), "--json"));
        assertEquals(List.of("model", "prompts", "BLEU", "NIST", "METEOR", "ROUGE_L", "CIDEr"),
                List.copyOf(out.keySet()));
        assertEquals((double) groups.size(), out.get("prompts"));
        List<JsonObject> written = new ArrayList<>();
        try (Stream<Path> files = Files.list(preds)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
                Files.readAllLines(f).forEach(l -> written.add(JsonParser.parseString(l).getAsJsonObject()));
            }
        }
        written.sort((a, b) -> Integer.compare(a.get("index").getAsInt(), b.get("index").getAsInt()));
        assertEquals(List.copyOf(groups.keySet()), written.stream().map(o -> o.get("context").getAsString()).toList());
        List<String> outputs = written.stream().map(o -> o.get("output").getAsString()).toList();
        E2eScorer.score(List.copyOf(groups.values()), outputs).asMap()
                .forEach((k, v) -> assertEquals(v, (Double) out.get(k), 1e-12, k));
    }

    @Test
    void preparedSplitPerplexityIsTheLossOfItsStoredTokens() throws IOException {
        Path data = SyntheticShards.prepare(Files.createDirectories(tmp.resolve("prepared")), 60, 5, 2, MODEL);
        List<TokenizedExample> valid = new ArrayList<>();
        for (Row r : spark.read().parquet(data.resolve("valid").toString()).orderBy("example_id").collectAsList()) {
            List<Integer> ids = r.getList(r.fieldIndex("input_ids"));
            List<Byte> mask = r.getList(r.fieldIndex("loss_mask"));
            byte[] m = new byte[mask.size()];
            for (int i = 0; i < m.length; i++) {
                m[i] = mask.get(i);
            }
            valid.add(new TokenizedExample(r.getLong(r.fieldIndex("example_id")),
                    ids.stream().mapToInt(Integer::intValue).toArray(), m));
        }
        assertEquals(6, valid.size());

        Path run = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(run.resolve("run.json"), "{\"mode\": \"sfl\"}");
        Map<String, Object> out = json(CliRun.of("eval", "--model", MODEL, "--prepared", data.toString(), "--json",
                "--run", run.toString(), "--label", "step 0"));
        assertEquals(List.of("model", "split", "examples", "loss", "ppl"), List.copyOf(out.keySet()));
        assertEquals("valid", out.get("split"));
        assertEquals(6.0, out.get("examples"));
        double loss = evaluatorLoss(valid);
        assertEquals(loss, (Double) out.get("loss"), 1e-6);
        JsonObject recorded = JsonParser.parseString(Files.readAllLines(run.resolve("evals.jsonl")).get(0)).getAsJsonObject();
        assertEquals("step 0", recorded.get("label").getAsString());
        assertEquals(data.toString(), recorded.get("data").getAsString());
        assertEquals(loss, recorded.get("loss").getAsDouble(), 1e-6);
        assertTrue(Files.exists(run.resolve("report.html")));

        Map<String, Object> first = json(CliRun.of("eval", "--model", MODEL, "--prepared", data.toString(), "--split", "valid",
                "--max-examples", "4", "--json"));
        assertEquals(evaluatorLoss(valid.subList(0, 4)), (Double) first.get("loss"), 1e-6);

        CliRun noTest = CliRun.of("eval", "--model", MODEL, "--prepared", data.toString(), "--split", "test");
        assertEquals(1, noTest.code());
        assertEquals("error: --prepared " + data + ": no test split (prepare --test-input makes one)", noTest.err().strip());
    }

    @Test
    void jsonlAndItsPreparedValidationSplitHaveTheSameLoss() {
        // the JSONL rows prepared as the validation input: eval of the file == eval of the tokens train validates on
        Path data = tmp.resolve("jsonl-prepared");
        CliRun prepared = CliRun.of("prepare", "--input", jsonl.toString(), "--valid-input", jsonl.toString(), "--format", "jsonl",
                "--field", "prompt=q", "--field", "completion=a", "--tokenizer", MODEL, "--clients", "1", "--out", data.toString());
        assertEquals(0, prepared.code(), prepared.err());
        Map<String, Object> fromFile = json(CliRun.of("eval", "--model", MODEL, "--data", jsonl.toString(), "--format", "jsonl",
                "--prompt-col", "q", "--completion-col", "a", "--metrics", "ppl", "--json"));
        Map<String, Object> fromSplit = json(CliRun.of("eval", "--model", MODEL, "--prepared", data.toString(), "--json"));
        assertEquals(fromFile.get("examples"), fromSplit.get("examples"));
        assertEquals((Double) fromFile.get("loss"), (Double) fromSplit.get("loss"), 1e-6);
    }

    @Test
    void e2eCsvKeepsItsOutputAndE2eIsGen() throws IOException {
        Path csv = tmp.resolve("e2e.csv");
        try (var w = Files.newBufferedWriter(csv)) {
            SyntheticE2E.writeCsv(w, pairs);
        }
        List<String> args = List.of("eval", "--model", MODEL, "--data", csv.toString(), "--beam", "2", "--max-new-tokens", "4",
                "--max-mrs", "3", "--json");
        Map<String, Object> old = json(CliRun.of(args.toArray(String[]::new)));
        assertEquals(List.of("model", "examples", "loss", "ppl", "mrs", "BLEU", "NIST", "METEOR", "ROUGE_L", "CIDEr"),
                List.copyOf(old.keySet()));
        assertEquals(3.0, old.get("mrs"));
        List<String> gen = new ArrayList<>(args);
        gen.addAll(List.of("--metrics", "ppl,gen"));
        assertEquals(old, json(CliRun.of(gen.toArray(String[]::new))));
        try (TextTokenizer tok = ModelSource.of(MODEL).tokenizer()) {
            List<TokenizedExample> byMr = new ArrayList<>();
            Map<String, List<String>> refs = new LinkedHashMap<>();
            pairs.forEach(p -> refs.computeIfAbsent(p.mr(), k -> new ArrayList<>()).add(p.ref()));
            refs.forEach((mr, rs) -> rs.forEach(ref -> byMr.add(byHand(tok, byMr.size(), PromptCompletionFormat.e2eContext(mr),
                    ref, Integer.MAX_VALUE))));
            assertEquals(evaluatorLoss(byMr), (Double) old.get("loss"), 1e-6);
        }
    }

    @Test
    void inputsAndOptionsThatDoNotGoTogetherAreRefused() {
        CliRun both = CliRun.of("eval", "--model", MODEL, "--data", "x.csv", "--prepared", "dir");
        assertEquals(2, both.code());
        CliRun neither = CliRun.of("eval", "--model", MODEL);
        assertEquals(2, neither.code());
        CliRun split = CliRun.of("eval", "--model", MODEL, "--data", "x.csv", "--split", "test");
        assertEquals(2, split.code());
        assertTrue(split.err().startsWith("--split needs --prepared DIR"), split.err());
        CliRun column = CliRun.of("eval", "--model", MODEL, "--data", "x.csv", "--prompt-col", "q");
        assertEquals(2, column.code());
        assertTrue(column.err().startsWith("--prompt-col: not with --format e2e"), column.err());
        CliRun gen = CliRun.of("eval", "--model", MODEL, "--prepared", "dir", "--metrics", "gen");
        assertEquals(1, gen.code());
        assertEquals("error: --metrics gen: needs prompt text (--data); --prepared has ppl only", gen.err().strip());
        CliRun beam = CliRun.of("eval", "--model", MODEL, "--prepared", "dir", "--beam", "4");
        assertEquals(2, beam.code());
        assertTrue(beam.err().startsWith("--beam: not with --prepared"), beam.err());
        CliRun format = CliRun.of("eval", "--model", MODEL, "--data", "x", "--format", "csv");
        assertEquals(2, format.code());
        assertTrue(format.err().startsWith("--format csv: e2e (CSV mr,ref) or jsonl"), format.err());
    }
}
