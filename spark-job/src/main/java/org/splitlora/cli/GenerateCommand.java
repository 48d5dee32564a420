package org.splitlora.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.GenerationResult;
import org.splitlora.model.generate.Generator;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.peft.PeftAdapter;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Prints the continuation of a prompt (without the prompt).")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "HF model directory (config.json, *.safetensors, tokenizer.json) or builtin:tiny-gpt2.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "LoRA adapter in HF PEFT format (adapter_config.json + adapter_model.safetensors), e.g. a run's adapter/.")
    Path adapter;

    @ArgGroup(multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text, encoded with the model's tokenizer.")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "IDS", split = ",", description = "Prompt token ids, comma separated.")
        int[] ids;
    }

    @ArgGroup(exclusive = true)
    Strategy strategy = new Strategy();

    static final class Strategy {
        @Option(names = "--greedy", description = "Greedy decoding (the default).")
        boolean greedy;

        @Option(names = "--beam", paramLabel = "B", description = "Beam search with B beams.")
        Integer beams;

        @Option(names = "--sample", description = "Sample (see --temperature, --top-k, --top-p, --seed).")
        boolean sample;
    }

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k most likely tokens; 0 = off (default).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass; 1 = off (default).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--length-penalty", defaultValue = "1.0", description = "Beam score = sum log p / length^penalty (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    @Option(names = "--no-repeat-ngram", defaultValue = "0", description = "Forbid repeating n-grams of this size; 0 = off (default).")
    int noRepeatNgram;

    @Option(names = "--num-return", defaultValue = "1", paramLabel = "N",
            description = "With --beam: the N best sequences, best first, each with its score (default: ${DEFAULT-VALUE}).")
    int numReturn;

    @Option(names = "--json", description = "Print {\"ids\":[...],\"text\":\"...\",\"score\":...} (a line per sequence).")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (numReturn > 1 && (strategy.beams == null || strategy.beams < numReturn)) {
            throw new IllegalArgumentException("--num-return " + numReturn + " needs --beam B with B >= " + numReturn);
        }
        ModelSource source = ModelSource.of(model);
        Set<Integer> eos = Set.of(source.config().eosTokenId());
        GenerationConfig cfg;
        if (strategy.beams != null) {
            cfg = new GenerationConfig(GenerationConfig.Strategy.BEAM, maxNewTokens, 1, 0, 1, 0, strategy.beams,
                    lengthPenalty, noRepeatNgram, false, eos);
        } else if (strategy.sample) {
            cfg = new GenerationConfig(GenerationConfig.Strategy.SAMPLE, maxNewTokens, temperature, topK, topP, seed, 1,
                    1, noRepeatNgram, false, eos);
        } else {
            cfg = new GenerationConfig(GenerationConfig.Strategy.GREEDY, maxNewTokens, 1, 0, 1, 0, 1, 1, noRepeatNgram, false, eos);
        }
        try (TextTokenizer tok = source.tokenizer();
             NDManager root = NDManager.newBaseManager();
             DecoderModel m = source.loadWhole(root)) {
            LoraAdapters lora = adapter == null ? null : PeftAdapter.load(adapter, source.config(), root);
            int[] ids = prompt.ids != null ? prompt.ids : tok.encode(prompt.text, true);
            List<GenerationResult> results = numReturn > 1 ? new Generator(m, lora).generateBeams(ids, cfg, numReturn)
                    : List.of(new Generator(m, lora).generate(ids, cfg));
            for (GenerationResult r : results) {
                String text = tok.decode(r.tokens());
                if (json) {
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("ids", r.tokens());
                    o.put("text", text);
                    o.put("score", r.score());
                    spec.commandLine().getOut().println(new Gson().toJson(o));
                } else {
                    spec.commandLine().getOut().println(numReturn > 1 ? String.format(Locale.ROOT, "%.4f\t%s", r.score(), text) : text);
                }
            }
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
