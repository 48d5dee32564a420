package org.splitlora.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.splitlora.config.TrainConfig;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.prepare.DatasetPreparer;
import org.splitlora.datasets.prepare.PrepareOptions;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.eval.generate.BatchGeneration;
import org.splitlora.eval.metrics.E2eScorer;
import org.splitlora.federation.ClientShards;
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
import org.splitlora.api.SplitLoraTrainer;
import org.splitlora.store.HadoopConf;
import org.splitlora.store.RunStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Offline end-to-end run on the embedded default (conf/demo.conf): makes a synthetic",
                "E2E-style restaurant dataset, prepares it into non-IID client shards (length-Dirichlet),",
                "trains SplitLoRA (sfl) on Spark in local mode with the built-in tiny GPT-2 (clients as",
                "Spark tasks, the split server in the driver), then evaluates the model before and after",
                "(validation perplexity; BLEU, NIST, METEOR, ROUGE-L, CIDEr of greedy outputs for held-out",
                "MRs) and writes report.html."})
final class DemoCommand implements Callable<Integer> {

    /** Synthetic pairs drawn for the held-out E2E test (grouped by MR). */
    private static final int TEST_PAIRS = 24;

    @Option(names = "--out", defaultValue = "demo-out", description = "Run directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--examples", defaultValue = "480", description = "Synthetic training examples (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--clients", defaultValue = "3", description = "Federated clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for data, partition and training (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Overrides a key of conf/demo.conf, e.g. --set train.rounds=2.")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        PrintStream log = System.out;
        RunStore run = RunStore.at(out.toString(), HadoopConf.fromSpark());
        if (run.exists("run.json")) {
            throw new IllegalArgumentException(out + " already holds a run (run.json); choose another --out");
        }
        Path dataDir = out.resolve("data");
        Files.createDirectories(dataDir);
        List<SyntheticE2E.Pair> pairs = SyntheticE2E.generate(examples + examples / 6, seed);
        Path csv = dataDir.resolve("synthetic-e2e.csv");
        try (Writer w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
            SyntheticE2E.writeCsv(w, pairs);
        }
        Path prepared = dataDir.resolve("prepared");
        List<String> overrides = new ArrayList<>(List.of("data.dir=" + quote(prepared), "out=" + quote(out), "seed=" + seed));
        overrides.addAll(sets);
        TrainConfig cfg = TrainConfig.parse(embeddedConfig(), "conf/demo.conf (embedded)", overrides);
        ModelSource source = ModelSource.of(cfg.model());
        String local = "local[" + Math.max(clients, Runtime.getRuntime().availableProcessors()) + ",4]";
        try (SparkSessions.Session session = SparkSessions.open("splitlora demo", null, local)) {
            SparkSession spark = session.spark();
            PrepareOptions prep = PrepareOptions.builder(csv.toString(), SourceOptions.of(SourceFormat.E2E),
                            new PartitionSpec(PartitionMethod.LENGTH_DIRICHLET, clients, 1.0, 4, 8, PartitionSpec.DEFAULT_MAX_DRAWS, seed),
                            prepared.toString())
                    .validFraction(0.15)
                    .overwrite(true)
                    .build();
            DatasetPreparer.Result data;
            try (SparkTaskProgress ignored = SparkTaskProgress.attach(spark.sparkContext(),
                    Progress.start(log, "prepare: Spark tasks", 0))) {
                data = new DatasetPreparer(spark).run(prep, source.tokenizerSpec());
            }
            log.printf(Locale.ROOT, "demo: %d synthetic E2E examples -> %d clients (length-Dirichlet, alpha 1) + %d validation, %s%n",
                    pairs.size(), clients, data.manifest().splits.get("valid").examples, prepared);
            List<TokenizedExample> valid = ClientShards.readSplit(spark, prepared.toString(), "valid", 0);
            Map<String, List<String>> test = heldOutTest(seed);
            String probeMr = test.keySet().iterator().next();
            Map<String, Object> summary = new LinkedHashMap<>();
            try (NDManager root = cfg.devices().eval().newManager("devices.eval");
                 DecoderModel model = source.loadWhole(root)) {
                Map<String, Object> before = evaluate(cfg, model, null, valid, test);
                EvalLog.append(run, "base model, before training", before);
                log.printf(Locale.ROOT, "before: val_loss %.4f  val_ppl %.1f  BLEU %.4f on %d held-out MRs%n",
                        before.get("loss"), before.get("ppl"), before.get("BLEU"), test.size());

                TrainCommand.run(SplitLoraTrainer.of(cfg), log);

                AdapterWeights trained = AdapterWeights.read(out.resolve("adapter"), source.config());
                Map<String, Object> after = evaluate(cfg, model, trained, valid, test);
                EvalLog.append(run, "after training (adapter/)", after);
                log.printf(Locale.ROOT, "after:  val_loss %.4f  val_ppl %.1f  BLEU %.4f  (adapter/ in HF PEFT format)%n",
                        after.get("loss"), after.get("ppl"), after.get("BLEU"));
                log.println("MR:     " + probeMr);
                log.println("before: " + before.get("probe_output"));
                log.println("after:  " + after.get("probe_output"));
                summary.put("val_loss_before", before.get("loss"));
                summary.put("val_loss_after", after.get("loss"));
                summary.put("probe_mr", probeMr);
                summary.put("generation_before", before.get("probe_output"));
                summary.put("generation_after", after.get("probe_output"));
            }
            run.writeText("summary.json", new GsonBuilder().setPrettyPrinting().create().toJson(summary));
        }
        ReportWriter.write(run);
        log.println("wrote " + out.toAbsolutePath() + ": run.json, metrics.jsonl, adapter/, checkpoint/, evals.jsonl, summary.json, "
                + ReportWriter.FILE);
        return 0;
    }

    /** Distinct MRs (with their references) drawn apart from the training data, for the E2E metrics. */
    private static Map<String, List<String>> heldOutTest(long seed) {
        Map<String, List<String>> refsByMr = new LinkedHashMap<>();
        for (SyntheticE2E.Pair p : SyntheticE2E.generate(TEST_PAIRS, seed + 1)) {
            refsByMr.computeIfAbsent(p.mr(), k -> new ArrayList<>()).add(p.ref());
        }
        return refsByMr;
    }

    /**
     * Validation loss and perplexity, and the E2E metrics of greedy outputs for the held-out MRs
     * (plus the first MR's output as the probe), of the model with or without the adapter.
     */
    private static Map<String, Object> evaluate(TrainConfig cfg, DecoderModel model, AdapterWeights adapter,
                                                List<TokenizedExample> valid, Map<String, List<String>> test) {
        Map<String, Object> out = new LinkedHashMap<>();
        try (NDManager m = model.manager().newSubManager();
             LoraAdapters lora = adapter == null ? null : adapter.load(model.config(), m)) {
            EvalResult r = Evaluator.evaluate(model, lora, valid, cfg.train().microBatchSize());
            out.put("examples", valid.size());
            out.put("loss", r.loss());
            out.put("ppl", r.perplexity());
        }
        GenerationConfig greedy = GenerationConfig.greedy(40, Set.of(model.config().eosTokenId()));
        List<String> mrs = new ArrayList<>(test.keySet());
        List<String> outputs = BatchGeneration.local(cfg.model(), cfg.devices().eval(), adapter, greedy,
                mrs.stream().map(PromptCompletionFormat::e2eContext).toList());
        out.put("mrs", mrs.size());
        out.putAll(E2eScorer.score(mrs.stream().map(test::get).toList(), outputs).asMap());
        out.put("probe_output", outputs.get(0));
        return out;
    }

    private static String embeddedConfig() throws IOException {
        try (InputStream in = TrainConfig.class.getResourceAsStream("demo.conf")) {
            if (in == null) {
                throw new IllegalStateException("demo.conf is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String quote(Path p) {
        return com.typesafe.config.ConfigUtil.quoteString(p.toString());
    }
}
