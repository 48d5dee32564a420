package org.splitlora.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
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
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.eval.generate.BatchGeneration;
import org.splitlora.eval.metrics.E2eScorer;
import org.splitlora.eval.metrics.E2eScores;
import org.splitlora.eval.metrics.ScoringInput;
import org.splitlora.model.DecoderModel;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Scores a model, or a model with a LoRA adapter, on an E2E CSV (mr,ref):",
                "ppl: loss and perplexity on the completion tokens of every row (in this process);",
                "e2e: generates an output for every distinct MR as a Spark job (the model and adapter load once per",
                "executor) with the LoRA paper's decoding, then scores BLEU, NIST, METEOR, ROUGE-L, CIDEr against the",
                "MR's references."})
final class EvalCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "HF model directory or builtin:tiny-gpt2.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "LoRA adapter in HF PEFT format, e.g. a run's adapter/.")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "E2E CSV with columns mr,ref.")
    Path data;

    @Option(names = "--format", defaultValue = "e2e", description = "Data format; only e2e (default).")
    String format;

    @Option(names = "--metrics", split = ",", defaultValue = "ppl,e2e", description = "ppl and/or e2e (default: ${DEFAULT-VALUE}).")
    List<String> metrics;

    @Option(names = "--max-examples", defaultValue = "0", description = "ppl over the first N rows; 0 = all (default).")
    int maxExamples;

    @Option(names = "--max-mrs", defaultValue = "0", description = "e2e over the first N distinct MRs; 0 = all (default).")
    int maxMrs;

    @Option(names = "--beam", defaultValue = "10", description = "Beams (default: ${DEFAULT-VALUE}); 1 = greedy.")
    int beams;

    @Option(names = "--length-penalty", defaultValue = "0.8", description = "Beam length penalty (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    @Option(names = "--no-repeat-ngram", defaultValue = "4", description = "No-repeat n-gram size (default: ${DEFAULT-VALUE}).")
    int noRepeatNgram;

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

    @Override
    public Integer call() {
        RunStore runDir = run == null ? null : RunStore.at(run, HadoopConf.fromSpark());
        if (runDir != null && !runDir.exists("run.json")) {
            throw new IllegalArgumentException("--run " + run + ": not a run directory (no run.json)");
        }
        if (!format.equals("e2e")) {
            throw new IllegalArgumentException("--format " + format + ": eval reads E2E CSV (mr,ref) only");
        }
        for (String m : metrics) {
            if (!m.equals("ppl") && !m.equals("e2e")) {
                throw new IllegalArgumentException("--metrics: unknown metric '" + m + "' (ppl, e2e)");
            }
        }
        ModelSource source = ModelSource.of(model);
        Map<String, List<String>> refsByMr = ScoringInput.e2eReferences(data);
        AdapterWeights weights = adapter == null ? null : AdapterWeights.read(adapter, source.config());
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("model", model);
        result.put("adapter", adapter == null ? null : adapter.toString());
        if (metrics.contains("ppl")) {
            result.putAll(perplexity(source, weights, refsByMr));
        }
        if (metrics.contains("e2e")) {
            result.putAll(e2e(source, weights, refsByMr));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (run != null) {
            Map<String, Object> values = new LinkedHashMap<>(result);
            values.remove("adapter");
            values.put("data", data.toString());
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

    private Map<String, Object> perplexity(ModelSource source, AdapterWeights weights, Map<String, List<String>> refsByMr) {
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
        try (NDManager root = NDManager.newBaseManager();
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

    private Map<String, Object> e2e(ModelSource source, AdapterWeights weights, Map<String, List<String>> refsByMr) {
        List<String> mrs = new ArrayList<>(refsByMr.keySet());
        if (maxMrs > 0 && mrs.size() > maxMrs) {
            mrs = mrs.subList(0, maxMrs);
        }
        List<String> contexts = mrs.stream().map(PromptCompletionFormat::e2eContext).toList();
        GenerationConfig cfg = GenerationConfig.beam(maxNewTokens, beams, lengthPenalty, noRepeatNgram,
                Set.of(source.config().eosTokenId()));
        List<String> outputs = new ArrayList<>();
        try (SparkSessions.Session session = SparkSessions.open("splitlora eval", master)) {
            SparkSession spark = session.spark();
            int tasks = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
            Dataset<Row> generated = BatchGeneration.onExecutors(spark, model, weights, cfg, contexts, tasks).cache();
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
        List<List<String>> refs = mrs.stream().map(refsByMr::get).toList();
        E2eScores scores = E2eScorer.score(refs, outputs);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mrs", mrs.size());
        out.putAll(scores.asMap());
        return out;
    }
}
