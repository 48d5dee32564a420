package org.splitlora.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.LoraTestSupport;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.Generator;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.model.peft.PeftAdapter;

/**
 * {@code generate --input}: batch generation as a Spark job over JSONL and Parquet rows ==
 * in-process generation of each prompt (and {@code generate --prompt-ids} of the same tokens),
 * columns and order kept, nothing of the user's overwritten, one-line errors.
 */
class GenerateInputTest {

    private static final String MODEL = "builtin:tiny-gpt2";
    private static final List<String> PROMPTS = List.of("name : Aromi | area : riverside", "The restaurant",
            "name : The Eagle | priceRange : cheap", "Hello there, how are", "A small pub near the river");

    @TempDir
    static Path tmp;
    static Path adapterDir;
    static SparkSession spark;

    /** One session for the class: the commands run in it and leave it running. */
    @BeforeAll
    static void setUp() {
        spark = SparkSession.builder().master(System.getProperty("spark.master", "local[2]")).appName("generate input test")
                .getOrCreate();
        ModelSource source = ModelSource.of(MODEL);
        LoraSpec spec = new LoraSpec(EnumSet.of(LoraTarget.Q, LoraTarget.V), 4, 8, 0.0, Map.of());
        adapterDir = tmp.resolve("adapter");
        try (NDManager root = NDManager.newBaseManager();
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, source.config().numLayers(), 3)) {
            LoraTestSupport.randomize(lora, 5, 0.5);
            PeftAdapter.write(adapterDir, source.config(), spec, lora.toFloats(), MODEL);
        }
    }

    /** A prompt as training lays it out: its tokens, then the EOS separator. */
    private static int[] promptIds(TextTokenizer tok, String prompt) {
        int[] text = tok.encode(prompt, true);
        int[] ids = Arrays.copyOf(text, text.length + 1);
        ids[text.length] = tok.eosTokenId();
        return ids;
    }

    /** Each prompt's output from the Generator in this process, stripped. */
    private static List<String> reference(List<String> prompts, GenerationConfig cfg, Path adapter) {
        ModelSource source = ModelSource.of(MODEL);
        List<String> out = new ArrayList<>();
        try (TextTokenizer tok = source.tokenizer();
             NDManager root = NDManager.newBaseManager();
             DecoderModel m = source.loadWhole(root)) {
            LoraAdapters lora = adapter == null ? null : PeftAdapter.load(adapter, source.config(), root);
            for (String p : prompts) {
                out.add(tok.decode(new Generator(m, lora).generate(promptIds(tok, p), cfg).tokens()).strip());
            }
        }
        return out;
    }

    /** The single-prompt command on the same tokens. */
    private static String singlePrompt(String prompt, String... decoding) {
        String ids;
        try (TextTokenizer tok = ModelSource.of(MODEL).tokenizer()) {
            ids = Arrays.stream(promptIds(tok, prompt)).mapToObj(String::valueOf).collect(Collectors.joining(","));
        }
        List<String> args = new ArrayList<>(List.of("generate", "--model", MODEL, "--prompt-ids", ids));
        args.addAll(List.of(decoding));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r.out().strip();
    }

    private static Set<Integer> eos() {
        return Set.of(ModelSource.of(MODEL).config().eosTokenId());
    }

    /** The JSON lines of a written directory, part files in name order. */
    private static List<JsonObject> jsonRows(Path dir) throws IOException {
        List<JsonObject> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    rows.add(JsonParser.parseString(line).getAsJsonObject());
                }
            }
        }
        return rows;
    }

    @Test
    void jsonlRowsGetTheSinglePromptOutputsInInputOrder() throws IOException {
        Path input = tmp.resolve("rows.jsonl");
        List<String> lines = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String prompt = i == 3 ? null : PROMPTS.get(i % PROMPTS.size()) + (i >= PROMPTS.size() ? " again" : "");
            JsonObject o = new JsonObject();
            o.addProperty("id", i);
            o.addProperty("prompt", prompt);
            o.addProperty("note", "row " + i);
            lines.add(o.toString());
            if (prompt != null) {
                prompts.add(prompt);
            }
        }
        Files.write(input, lines);
        Path out = tmp.resolve("generated-json");
        CliRun r = CliRun.of("generate", "--model", MODEL, "--input", input.toString(), "--output", out.toString(),
                "--max-new-tokens", "6", "--partitions", "3");
        assertEquals(0, r.code(), r.err());
        assertEquals("wrote " + out + ": 8 rows (json)", r.out().strip());
        assertTrue(Files.exists(out.resolve("_SUCCESS")));

        List<String> expected = reference(prompts, GenerationConfig.greedy(6, eos()), null);
        assertEquals(singlePrompt(prompts.get(0), "--max-new-tokens", "6"), expected.get(0));
        assertEquals(singlePrompt(prompts.get(5), "--max-new-tokens", "6"), expected.get(5));
        List<JsonObject> rows = jsonRows(out);
        assertEquals(IntStream.range(0, 8).boxed().toList(), rows.stream().map(o -> o.get("id").getAsInt()).toList(),
                "rows in input order over the part files");
        List<String> got = new ArrayList<>();
        for (JsonObject o : rows) {
            int id = o.get("id").getAsInt();
            assertEquals("row " + id, o.get("note").getAsString());
            assertEquals(Set.of("id", "prompt", "note", "output"), o.keySet());
            if (id == 3) {
                assertTrue(o.get("prompt").isJsonNull() && o.get("output").isJsonNull(), o.toString());
            } else {
                got.add(o.get("output").getAsString());
            }
        }
        assertEquals(expected, got);
    }

    @Test
    void parquetRowsWithAnAdapterAndBeamSearch() {
        StructType schema = new StructType().add("key", DataTypes.LongType).add("text", DataTypes.StringType)
                .add("score", DataTypes.DoubleType).add("tags", DataTypes.createArrayType(DataTypes.StringType));
        List<Row> in = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) {
            in.add(RowFactory.create((long) i, PROMPTS.get(i), i / 2.0, List.of("t" + i)));
        }
        in.add(RowFactory.create(99L, null, -1.0, List.of()));
        Path input = tmp.resolve("rows.parquet");
        spark.createDataFrame(in, schema).coalesce(2).write().parquet(input.toString());
        Path out = tmp.resolve("generated-parquet");
        CliRun r = CliRun.of("generate", "--model", MODEL, "--adapter", adapterDir.toString(), "--input", input.toString(),
                "--output", out.toString(), "--prompt-col", "text", "--output-col", "continuation", "--beam", "3",
                "--no-repeat-ngram", "2", "--max-new-tokens", "5");
        assertEquals(0, r.code(), r.err());
        assertFalse(spark.sparkContext().isStopped(), "the command leaves a session it did not make running");
        GenerationConfig beam = GenerationConfig.beam(5, 3, 1.0, 2, eos());
        List<String> expected = reference(PROMPTS, beam, adapterDir);
        assertNotEquals(expected, reference(PROMPTS, beam, null), "the adapter changes the outputs");

        List<Row> rows = spark.read().parquet(out.toString()).orderBy("key").collectAsList();
        assertEquals(List.of("key", "text", "score", "tags", "continuation"),
                List.of(spark.read().parquet(out.toString()).columns()));
        assertEquals(PROMPTS.size() + 1, rows.size());
        for (int i = 0; i < PROMPTS.size(); i++) {
            Row row = rows.get(i);
            assertEquals(i, row.getLong(0));
            assertEquals(PROMPTS.get(i), row.getString(1));
            assertEquals(i / 2.0, row.getDouble(2));
            assertEquals(List.of("t" + i), row.getList(3));
            assertEquals(expected.get(i), row.getString(4));
        }
        assertTrue(rows.get(PROMPTS.size()).isNullAt(4), "a null prompt gives a null output");
    }

    @Test
    void anExistingOutputIsLeftAsItIs() throws IOException {
        Path input = tmp.resolve("one.jsonl");
        Files.writeString(input, "{\"prompt\": \"Hello\"}\n");
        Path out = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(out.resolve("notes.txt"), "my own notes\n");
        CliRun r = CliRun.of("generate", "--model", MODEL, "--input", input.toString(), "--output", out.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: --output " + out + ": already exists"), r.err());
        assertEquals("my own notes\n", Files.readString(out.resolve("notes.txt")));
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(out.resolve("notes.txt")), files.toList());
        }
    }

    @Test
    void aMissingOrNonStringPromptColumnIsOneLineNamingFileAndColumn() throws IOException {
        Path noPrompt = tmp.resolve("no-prompt.jsonl");
        Files.writeString(noPrompt, "{\"text\": \"Hello\", \"id\": 1}\n");
        Path out = tmp.resolve("never");
        CliRun r = CliRun.of("generate", "--model", MODEL, "--input", noPrompt.toString(), "--output", out.toString());
        assertEquals(1, r.code());
        assertEquals("error: --input " + noPrompt + ": no column 'prompt' (--prompt-col; columns: id, text)", r.err().strip());

        CliRun number = CliRun.of("generate", "--model", MODEL, "--input", noPrompt.toString(), "--output", out.toString(),
                "--prompt-col", "id");
        assertEquals(1, number.code());
        assertEquals("error: --input " + noPrompt + ": column 'id' is bigint, not a string (--prompt-col)", number.err().strip());
        Path malformed = tmp.resolve("malformed.jsonl");
        Files.writeString(malformed, "{\"prompt\": \"Hello\"}\n{oops\n");
        CliRun bad = CliRun.of("generate", "--model", MODEL, "--input", malformed.toString(), "--output", out.toString());
        assertEquals(1, bad.code());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().startsWith("error: --input " + malformed + ": not readable as json lines: "), bad.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void aFailedJobLeavesNoOutput() throws IOException {
        Path input = tmp.resolve("too-long.jsonl");
        Files.writeString(input, "{\"prompt\": \"Hello\"}\n{\"prompt\": \"" + "word ".repeat(400) + "\"}\n");
        Path out = tmp.resolve("failed");
        CliRun r = CliRun.of("generate", "--model", MODEL, "--input", input.toString(), "--output", out.toString(),
                "--max-new-tokens", "2");
        assertEquals(1, r.code());
        assertEquals("error: the prompt has 402 tokens; the model's context is 256", r.err().strip());
        assertFalse(Files.exists(out), "the failed job's empty directory is gone, so the command can run again");
    }

    @Test
    void optionsOfTheOtherFormAreRefused() {
        CliRun noOutput = CliRun.of("generate", "--model", MODEL, "--input", "x.jsonl");
        assertEquals(2, noOutput.code());
        assertTrue(noOutput.err().startsWith("--input needs --output DIR"), noOutput.err());
        CliRun json = CliRun.of("generate", "--model", MODEL, "--input", "x.jsonl", "--output", "y", "--json");
        assertEquals(2, json.code());
        assertTrue(json.err().startsWith("--json: only with --prompt or --prompt-ids"), json.err());
        CliRun output = CliRun.of("generate", "--model", MODEL, "--prompt", "Hi", "--output", "y");
        assertEquals(2, output.code());
        assertTrue(output.err().startsWith("--output needs --input"), output.err());
        CliRun both = CliRun.of("generate", "--model", MODEL, "--prompt", "Hi", "--input", "x.jsonl", "--output", "y");
        assertEquals(2, both.code());
        CliRun name = CliRun.of("generate", "--model", MODEL, "--input", "rows.csv", "--output", "y");
        assertEquals(1, name.code());
        assertEquals("error: --input rows.csv: cannot tell the format from the name (.jsonl, .json, .parquet); "
                + "give --input-format json|parquet", name.err().strip());
    }
}
