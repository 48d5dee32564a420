package org.splitlora.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.eval.generate.BatchGeneration;
import org.splitlora.eval.metrics.E2eScorer;
import org.splitlora.eval.metrics.ScoringInput;
import org.splitlora.federation.ClientShards;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.report.EvalLog;
import org.splitlora.report.ReportWriter;
import org.splitlora.report.progress.Progress;
import org.splitlora.report.progress.SparkTaskProgress;
import org.splitlora.train.EvalResult;
import org.splitlora.train.Evaluator;
import org.splitlora.store.HadoopConf;
import org.splitlora.store.RunStore;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Scores a model, or a model with a LoRA adapter, on one of:",
                "--data FILE: an E2E CSV (mr,ref; a local file), or with --format jsonl prompt/completion JSON lines "
                        + "(files, directories or globs, any Hadoop path) read and encoded as prepare --format jsonl "
                        + "--jsonl-style prompt-completion reads and encodes them;",
                "--prepared DIR [--split valid|test]: a prepare output's held-out split, its tokens as stored (valid: the "
                        + "examples train validates on).",
                "Metrics: ppl: loss and perplexity on the completion tokens of every row (context, separator, completion, "
                        + "EOS: the training layout), in this process.",
                "gen (e2e is the same): one output for every distinct prompt (E2E: MR), generated as a Spark job (the model "
                        + "and adapter load once per executor) with the LoRA paper's decoding, scored with BLEU, NIST, METEOR, "
                        + "ROUGE-L and CIDEr against that prompt's references: E2E: its refs; JSONL: the completions of all "
                        + "rows with exactly that prompt. Needs --data."})
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "HF model directory or builtin:tiny-gpt2.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "LoRA adapter in HF PEFT format, e.g. a run's adapter/.")
    Path adapter;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--data", paramLabel = "FILE", description = "E2E CSV with columns mr,ref, or JSONL with --format jsonl.")
        String data;

        @Option(names = "--prepared", paramLabel = "DIR", description = "A prepare output directory (any Hadoop path).")
        String prepared;
    }

    @Option(names = "--format", defaultValue = "e2e", paramLabel = "e2e|jsonl", description = "Format of --data (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--prompt-col", defaultValue = "prompt", paramLabel = "NAME",
            description = "jsonl: the prompt field (default: ${DEFAULT-VALUE}).")
    String promptCol;

    @Option(names = "--completion-col", defaultValue = "completion", paramLabel = "NAME",
            description = "jsonl: the completion field (default: ${DEFAULT-VALUE}).")
    String completionCol;

    @Option(names = "--max-length", defaultValue = "512", paramLabel = "L",
            description = "jsonl: tokens per example, longer ones truncated, as prepare --max-length (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--split", paramLabel = "valid|test", description = "With --prepared: the split (default: valid).")
    String split;

    @Option(names = "--metrics", split = ",", paramLabel = "M",
            description = "ppl and/or gen (e2e: the same as gen) (default: ppl,gen; with --prepared: ppl).")
    List<String> metrics;

    @Option(names = "--max-examples", defaultValue = "0", paramLabel = "N",
            description = "ppl over the first N examples (E2E: rows grouped by MR; jsonl: in file order; --prepared: by "
                    + "example id, as data.maxValidExamples); 0 = all (default).")
    int maxExamples;

    @Option(names = {"--max-prompts", "--max-mrs"}, defaultValue = "0", paramLabel = "N",
            description = "gen over the first N distinct prompts (E2E: MRs); 0 = all (default).")
    int maxPrompts;

    @Option(names = "--beam", defaultValue = "10", description = "Beams (default: ${DEFAULT-VALUE}); 1 = greedy.")
    int beams;

    @Option(names = "--length-penalty", defaultValue = "0.8", description = "Beam length penalty (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    @Option(names = "--no-repeat-ngram", defaultValue = "4", description = "No-repeat n-gram size (default: ${DEFAULT-VALUE}).")
    int noRepeatNgram;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "Where the model runs (generation: on each executor): auto (a GPU when PyTorch sees one, else cpu), "
                    + "cpu or gpu (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Most new tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--partitions", defaultValue = "0", description = "Generation tasks; 0 = Spark's default parallelism (default).")
    int partitions;

    @Option(names = "--predictions", paramLabel = "DIR", description = "Also write the outputs (index, context, output) as JSON lines here (Spark).")
    String predictions;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: local[*], or spark-submit's).")
    String master;

    @Option(names = "--json", description = "Print the results as one JSON object.")
    boolean json;

    @Option(names = "--run", paramLabel = "RUN_DIR",
            description = "Also append the results to RUN_DIR/evals.jsonl and regenerate RUN_DIR/report.html (a path or a Hadoop URI).")
    String run;

    @Option(names = "--label", description = "The results' name in the report (default: the adapter path, or 'base model').")
    String label;

    @Spec
    CommandSpec spec;

    /** Prompts (the model's context text) and each one's references, in order. */
    private record Targets(List<String> contexts, List<List<String>> references) {}

    @Override
    public Integer call() {
        RunStore runDir = run == null ? null : RunStore.at(run, HadoopConf.fromSpark());
        if (runDir != null && !runDir.exists("run.json")) {
            throw new IllegalArgumentException("--run " + run + ": not a run directory (no run.json)");
        }
        List<String> wanted = checkedMetrics();
        ModelSource source = ModelSource.of(model);
        AdapterWeights weights = adapter == null ? null : AdapterWeights.read(adapter, source.config());
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model);
        result.put("adapter", adapter == null ? null : adapter.toString());
        String data;
        if (input.prepared != null) {
            data = input.prepared;
            result.put("split", split);
            result.putAll(loss(source, deviceChoice(), weights, preparedExamples(source)));
        } else if (format.equals("jsonl")) {
            data = input.data;
            JsonlPairs pairs = JsonlPairs.read(input.data, promptCol, completionCol, HadoopConf.fromSpark());
            if (wanted.contains("ppl")) {
                try (TextTokenizer tok = source.tokenizer()) {
                    result.putAll(loss(source, deviceChoice(), weights, pairs.examples(tok, maxLength, maxExamples)));
                }
            }
            if (wanted.contains("gen")) {
                Map<String, List<String>> byPrompt = pairs.completionsByPrompt();
                List<String> prompts = first(new ArrayList<>(byPrompt.keySet()));
                result.put("prompts", prompts.size());
                result.putAll(generated(source, weights, new Targets(prompts, prompts.stream().map(byPrompt::get).toList())));
            }
        } else {
            Path csv = Path.of(input.data);
            data = csv.toString();
            Map<String, List<String>> refsByMr = ScoringInput.e2eReferences(csv);
            if (wanted.contains("ppl")) {
                result.putAll(loss(source, deviceChoice(), weights, e2eExamples(source, refsByMr)));
            }
            if (wanted.contains("gen")) {
                List<String> mrs = first(new ArrayList<>(refsByMr.keySet()));
                result.put("mrs", mrs.size());
                result.putAll(generated(source, weights, new Targets(mrs.stream().map(PromptCompletionFormat::e2eContext).toList(),
                        mrs.stream().map(refsByMr::get).toList())));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (run != null) {
            Map<String, Object> values = new LinkedHashMap<>(result);
            values.remove("adapter");
            values.put("data", data);
            EvalLog.append(runDir, label != null ? label : adapter != null ? adapter.toString() : "base model", values);
            ReportWriter.write(runDir);
        }
        if (json) {
            out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(result));
        } else {
            result.forEach((k, v) -> out.printf(Locale.ROOT, "%-9s %s%n", k + ":",
                    v instanceof Double d ? String.format(Locale.ROOT, "%.4f", d) : v));
        }
        out.flush();
        return 0;
    }

    /** The metrics asked for (e2e read as gen), checked against the input; options of another input refused. */
    private List<String> checkedMetrics() {
        boolean prepared = input.prepared != null;
        List<String> refused = new ArrayList<>();
        if (prepared) {
            refused.addAll(List.of("--format", "--prompt-col", "--completion-col", "--max-length", "--max-prompts",
                    "--predictions", "--beam", "--length-penalty", "--no-repeat-ngram", "--max-new-tokens", "--partitions"));
            split = split == null ? "valid" : split;
            if (!split.equals("valid") && !split.equals("test")) {
                throw new ParameterException(spec.commandLine(), "--split " + split + ": valid or test");
            }
        } else {
            if (split != null) {
                throw new ParameterException(spec.commandLine(), "--split needs --prepared DIR");
            }
            if (!format.equals("e2e") && !format.equals("jsonl")) {
                throw new ParameterException(spec.commandLine(), "--format " + format + ": e2e (CSV mr,ref) or jsonl");
            }
            if (format.equals("e2e")) {
                refused.addAll(List.of("--prompt-col", "--completion-col", "--max-length"));
            }
        }
        for (String option : refused) {
            if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                throw new ParameterException(spec.commandLine(), option + ": not with "
                        + (prepared ? "--prepared (ppl of tokenized examples)" : "--format e2e"));
            }
        }
        List<String> out = new ArrayList<>();
        for (String m : metrics != null ? metrics : prepared ? List.of("ppl") : List.of("ppl", "gen")) {
            String name = m.equals("e2e") ? "gen" : m;
            if (!name.equals("ppl") && !name.equals("gen")) {
                throw new IllegalArgumentException("--metrics: unknown metric '" + m + "' (ppl, gen)");
            }
            if (prepared && name.equals("gen")) {
                throw new IllegalArgumentException("--metrics " + m + ": needs prompt text (--data); --prepared has ppl only");
            }
            out.add(name);
        }
        return out;
    }

    private List<String> first(List<String> prompts) {
        return maxPrompts > 0 && prompts.size() > maxPrompts ? prompts.subList(0, maxPrompts) : prompts;
    }

    /** Every mr,ref row in the recipe layout, grouped by MR (the first --max-examples). */
    private List<TokenizedExample> e2eExamples(ModelSource source, Map<String, List<String>> refsByMr) {
        List<TokenizedExample> examples = new ArrayList<>();
        try (TextTokenizer tok = source.tokenizer()) {
            long id = 0;
            for (Map.Entry<String, List<String>> e : refsByMr.entrySet()) {
                String context = PromptCompletionFormat.e2eContext(e.getKey());
                for (String ref : e.getValue()) {
                    if (maxExamples > 0 && id >= maxExamples) {
                        break;
                    }
                    examples.add(PromptCompletionFormat.encode(tok, id++, context, ref));
                }
            }
        }
        return examples;
    }

    /** The split's examples as stored, by example id, once the dataset is known to be tokenized for this model. */
    private List<TokenizedExample> preparedExamples(ModelSource source) {
        String what = "--prepared " + input.prepared;
        try (SparkSessions.Session session = SparkSessions.open("splitlora eval", master)) {
            SparkSession spark = session.spark();
            Manifest manifest;
            try {
                org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(input.prepared);
                manifest = Manifest.read(dir.getFileSystem(spark.sparkContext().hadoopConfiguration()), dir);
            } catch (IOException e) {
                throw new IllegalArgumentException("--prepared: " + e.getMessage(), e);
            }
            ClientShards.checkTokenizer(what, manifest, source.config(), source.tokenizerSpec());
            if (manifest.splits == null || !manifest.splits.containsKey(split)) {
                throw new IllegalArgumentException(what + ": no " + split + " split (prepare "
                        + (split.equals("valid") ? "--valid-fraction or --valid-input" : "--test-input") + " makes one)");
            }
            return ClientShards.readSplit(spark, input.prepared, split, maxExamples);
        }
    }

    private DeviceChoice deviceChoice() {
        return DeviceChoice.parse(device, "--device");
    }

    private static Map<String, Object> loss(ModelSource source, DeviceChoice device, AdapterWeights weights, List<TokenizedExample> examples) {
        try (NDManager root = device.newManager("--device");
             DecoderModel m = source.loadWhole(root);
             LoraAdapters lora = weights == null ? null : weights.load(source.config(), root)) {
            EvalResult r = Evaluator.evaluate(m, lora, examples, 8);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("examples", examples.size());
            out.put("loss", r.loss());
            out.put("ppl", r.perplexity());
            return out;
        }
    }

    private Map<String, Object> generated(ModelSource source, AdapterWeights weights, Targets targets) {
        GenerationConfig cfg = GenerationConfig.beam(maxNewTokens, beams, lengthPenalty, noRepeatNgram,
                Set.of(source.config().eosTokenId()));
        List<String> outputs = new ArrayList<>();
        try (SparkSessions.Session session = SparkSessions.open("splitlora eval", master)) {
            SparkSession spark = session.spark();
            int tasks = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
            Dataset<Row> generated = BatchGeneration.onExecutors(spark, model, deviceChoice(), weights, cfg, targets.contexts(), tasks).cache();
            // on stderr: stdout may be the --json result
            try (SparkTaskProgress ignored = SparkTaskProgress.attach(spark.sparkContext(),
                    Progress.start(System.err, "generate: Spark tasks", 0))) {
                if (predictions != null) {
                    generated.write().json(predictions);
                }
                for (Row r : generated.orderBy("index").collectAsList()) {
                    outputs.add(r.getString(2));
                }
            }
        }
        return new LinkedHashMap<>(E2eScorer.score(targets.references(), outputs).asMap());
    }
}
