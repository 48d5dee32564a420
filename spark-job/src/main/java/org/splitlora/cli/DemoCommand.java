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
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.federation.ClientShards;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.Generator;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.peft.PeftAdapter;
import org.splitlora.train.EvalResult;
import org.splitlora.train.Evaluator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Offline end-to-end run on the embedded default (conf/demo.conf): makes a synthetic",
                "E2E-style restaurant dataset, prepares it into non-IID client shards (length-Dirichlet),",
                "trains SplitLoRA (sfl) on Spark in local mode with the built-in tiny GPT-2 (clients as",
                "Spark tasks, the split server in the driver), then evaluates and generates with the",
                "exported PEFT adapter."})
final class DemoCommand implements Callable<Integer> {

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
        if (Files.exists(out.resolve("metrics.jsonl"))) {
            throw new IllegalArgumentException(out + " already holds a run (metrics.jsonl); choose another --out");
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
        try (SparkSession spark = SparkSessions.create("splitlora demo", null, local)) {
            PrepareOptions prep = PrepareOptions.builder(csv.toString(), SourceOptions.of(SourceFormat.E2E),
                            new PartitionSpec(PartitionMethod.LENGTH_DIRICHLET, clients, 1.0, 4, 8, PartitionSpec.DEFAULT_MAX_DRAWS, seed),
                            prepared.toString())
                    .validFraction(0.15)
                    .overwrite(true)
                    .build();
            DatasetPreparer.Result data = new DatasetPreparer(spark).run(prep, source.tokenizerSpec());
            log.printf(Locale.ROOT, "demo: %d synthetic E2E examples -> %d clients (length-Dirichlet, alpha 1) + %d validation, %s%n",
                    pairs.size(), clients, data.manifest().splits.get("valid").examples, prepared);
            List<TokenizedExample> valid = ClientShards.readValid(spark, prepared.toString(), 0);
            String probeMr = pairs.get(pairs.size() - 1).mr();
            Map<String, Object> summary = new LinkedHashMap<>();
            try (NDManager root = NDManager.newBaseManager();
                 DecoderModel model = source.loadWhole(root);
                 TextTokenizer tok = source.tokenizer()) {
                int[] probe = PromptCompletionFormat.encodePrompt(tok, PromptCompletionFormat.e2eContext(probeMr));
                GenerationConfig greedy = GenerationConfig.greedy(40, Set.of(source.config().eosTokenId()));
                EvalResult before = Evaluator.evaluate(model, null, valid, cfg.train().microBatchSize());
                String textBefore = tok.decode(new Generator(model, null).generate(probe, greedy).tokens());
                log.printf(Locale.ROOT, "before: val_loss %.4f  val_ppl %.1f%n", before.loss(), before.perplexity());

                TrainCommand.run(cfg, false, log);

                try (LoraAdapters trained = PeftAdapter.load(out.resolve("adapter"), source.config(), root)) {
                    EvalResult after = Evaluator.evaluate(model, trained, valid, cfg.train().microBatchSize());
                    String textAfter = tok.decode(new Generator(model, trained).generate(probe, greedy).tokens());
                    log.printf(Locale.ROOT, "after:  val_loss %.4f  val_ppl %.1f  (adapter/ in HF PEFT format)%n",
                            after.loss(), after.perplexity());
                    log.println("MR:     " + probeMr);
                    log.println("before: " + textBefore.strip());
                    log.println("after:  " + textAfter.strip());
                    summary.put("val_loss_before", before.loss());
                    summary.put("val_loss_after", after.loss());
                    summary.put("probe_mr", probeMr);
                    summary.put("generation_before", textBefore);
                    summary.put("generation_after", textAfter);
                }
            }
            Files.writeString(out.resolve("summary.json"), new GsonBuilder().setPrettyPrinting().create().toJson(summary),
                    StandardCharsets.UTF_8);
        }
        log.println("wrote " + out.toAbsolutePath() + ": run.json, metrics.jsonl, adapter/, checkpoint/, summary.json");
        return 0;
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
