package org.splitlora.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.Generator;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.report.MetricsJsonl;
import org.splitlora.report.ProgressPrinter;
import org.splitlora.train.CentralTrainer;
import org.splitlora.train.EvalResult;
import org.splitlora.train.Evaluator;
import org.splitlora.train.OptimizerConfig;
import org.splitlora.train.TrainListeners;
import org.splitlora.train.TrainOptions;
import org.splitlora.util.DataHash;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Offline end-to-end run on an embedded default: makes a synthetic E2E-style",
                "restaurant dataset, fine-tunes LoRA adapters of the built-in tiny GPT-2 on it",
                "(centralized mode for now), evaluates before and after, and writes a run directory."})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--out", defaultValue = "demo-out", description = "Run directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--steps", defaultValue = "60", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--examples", defaultValue = "480", description = "Synthetic training examples (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for data, initialisation and order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        PrintStream log = System.out;
        Files.createDirectories(out);
        if (Files.exists(out.resolve("metrics.jsonl"))) {
            throw new IllegalArgumentException(out + " already holds a run (metrics.jsonl); choose another --out");
        }
        ModelSource source = ModelSource.of(BuiltinModels.TINY_GPT2);
        List<SyntheticE2E.Pair> pairs = SyntheticE2E.generate(examples + examples / 6, seed);
        List<TokenizedExample> all;
        String probeMr = pairs.get(pairs.size() - 1).mr();
        int[] probePrompt;
        try (TextTokenizer tok = source.tokenizer()) {
            all = PromptCompletionFormat.encodeE2E(tok, pairs);
            probePrompt = PromptCompletionFormat.encodePrompt(tok, PromptCompletionFormat.e2eContext(probeMr));
        }
        List<TokenizedExample> train = all.subList(0, examples);
        List<TokenizedExample> valid = all.subList(examples, all.size());
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.UP, LoraTarget.DOWN), 8, 16, 0.05);
        OptimizerConfig optim = new OptimizerConfig(1e-2, 0.9, 0.999, 1e-6, 0.01, Math.max(1, steps / 20), 1.0);
        TrainOptions opts = new TrainOptions(16, 16, 0, steps, optim, 0.0, seed, Math.max(1, steps / 3));

        writeRunJson(source, spec, opts, train, valid);
        log.printf(Locale.ROOT, "demo: %s, %d train / %d valid synthetic E2E examples, LoRA %s r=%d, %d steps -> %s%n",
                source.spec(), train.size(), valid.size(), spec.targets(), spec.rank(), steps, out.toAbsolutePath());
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, source.config().numLayers(), seed);
             TextTokenizer tok = source.tokenizer();
             MetricsJsonl metrics = new MetricsJsonl(out.resolve("metrics.jsonl"), "central")) {
            Generator gen = new Generator(model, lora);
            GenerationConfig greedy = GenerationConfig.greedy(40, Set.of(source.config().eosTokenId()));
            EvalResult before = Evaluator.evaluate(model, lora, valid, 16);
            String textBefore = tok.decode(gen.generate(probePrompt, greedy).tokens());
            log.printf(Locale.ROOT, "before: val_loss %.4f  val_ppl %.1f%n", before.loss(), before.perplexity());
            new CentralTrainer(model, lora, opts).fit(train, valid,
                    new TrainListeners(new ProgressPrinter(log, Math.max(1, steps / 12)), metrics));
            EvalResult after = Evaluator.evaluate(model, lora, valid, 16);
            String textAfter = tok.decode(gen.generate(probePrompt, greedy).tokens());
            log.printf(Locale.ROOT, "after:  val_loss %.4f  val_ppl %.1f%n", after.loss(), after.perplexity());
            log.println("MR:     " + probeMr);
            log.println("before: " + textBefore.strip());
            log.println("after:  " + textAfter.strip());
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("val_loss_before", before.loss());
            summary.put("val_loss_after", after.loss());
            summary.put("probe_mr", probeMr);
            summary.put("generation_before", textBefore);
            summary.put("generation_after", textAfter);
            Files.writeString(out.resolve("summary.json"),
                    new GsonBuilder().setPrettyPrinting().create().toJson(summary), StandardCharsets.UTF_8);
        }
        log.println("wrote " + out.resolve("metrics.jsonl") + ", " + out.resolve("summary.json"));
        return 0;
    }

    private void writeRunJson(ModelSource source, LoraSpec spec, TrainOptions opts,
                              List<TokenizedExample> train, List<TokenizedExample> valid) throws IOException {
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("command", "demo");
        run.put("mode", "central");
        run.put("model", source.spec());
        run.put("seed", seed);
        run.put("lora", spec);
        run.put("train", opts);
        run.put("data", Map.of("source", "synthetic-e2e", "train_examples", train.size(), "valid_examples", valid.size(),
                "train_hash", DataHash.of(train), "valid_hash", DataHash.of(valid)));
        run.put("versions", Map.of("java", System.getProperty("java.version"), "splitlora",
                new VersionProvider().getVersion()[0]));
        Files.writeString(out.resolve("run.json"),
                new GsonBuilder().setPrettyPrinting().create().toJson(run), StandardCharsets.UTF_8);
    }
}
