package org.splitlora.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.eval.generate.AdapterWeights;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.DeviceChoice;
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
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"--prompt / --prompt-ids: prints the continuation of one prompt (without the prompt), in this process.",
                "--input F --output DIR: batch generation as a Spark job, the CLI twin of SplitLoraModel.transform. F is "
                        + "JSONL or Parquet (a file or directory, any Hadoop path). Every row keeps all its columns and gets "
                        + "--output-col: the continuation of --prompt-col (null for a null prompt), generated on the "
                        + "executors, each loading the model and the broadcast adapter once. A prompt is encoded as "
                        + "training lays out a prompt, the text then the EOS separator (as SplitLoraModel.transform and eval "
                        + "do; --prompt encodes the text alone), and its output is stripped of surrounding white space.",
                "DIR must not exist: generate never writes into an existing path. Spark's committer writes it, the rows in "
                        + "input order over part-00000, part-00001, ..., and only a job that finished leaves DIR/_SUCCESS; "
                        + "a failed job removes DIR if it is left empty, and a DIR without _SUCCESS is incomplete."})
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

        @Option(names = "--input", paramLabel = "F", description = "JSONL or Parquet rows with a prompt column (any Hadoop path).")
        String input;
    }

    @Option(names = "--output", paramLabel = "DIR", description = "With --input: where to write the rows (must not exist).")
    String output;

    @Option(names = "--input-format", paramLabel = "json|parquet",
            description = "With --input (default: by F's name: .jsonl/.json[.gz] json, .parquet parquet).")
    String inputFormat;

    @Option(names = "--output-format", paramLabel = "json|parquet", description = "With --input (default: the input's).")
    String outputFormat;

    @Option(names = "--prompt-col", paramLabel = "COL", description = "With --input: the prompt column, a string (default: prompt).")
    String promptCol;

    @Option(names = "--output-col", paramLabel = "COL", description = "With --input: the column added (default: output).")
    String outputCol;

    @Option(names = "--partitions", paramLabel = "P",
            description = "With --input: generation tasks; 0 = Spark's default parallelism (default).")
    Integer partitions;

    @Option(names = "--master", paramLabel = "URL", description = "With --input: Spark master (default: local[*], or spark-submit's).")
    String master;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "Where the model runs (with --input: on each executor): auto (a GPU when PyTorch sees one, else cpu), "
                    + "cpu or gpu (default: ${DEFAULT-VALUE}).")
    String device;

    @ArgGroup(exclusive = true)
    Strategy strategy = new Strategy();

    static final class Strategy {
        @Option(names = "--greedy", description = "Greedy decoding (the default).")
        boolean greedy;

        @Option(names = "--beam", paramLabel = "B", description = "Beam search with B beams.")
        Integer beams;

        @Option(names = "--sample", description = "Sample (see --temperature, --top-k, --top-p, --seed; with --input every prompt "
                + "is sampled with the seed).")
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
            description = "One prompt, with --beam: the N best sequences, best first, each with its score (default: ${DEFAULT-VALUE}).")
    int numReturn;

    @Option(names = "--json", description = "One prompt: print {\"ids\":[...],\"text\":\"...\",\"score\":...} (a line per sequence).")
    boolean json;

    @Spec
    CommandSpec spec;

    /** The options that only batch generation reads. */
    private static final List<String> INPUT_ONLY = List.of("--output", "--input-format", "--output-format", "--prompt-col",
            "--output-col", "--partitions", "--master");

    @Override
    public Integer call() {
        if (prompt.input != null) {
            return batch();
        }
        for (String option : INPUT_ONLY) {
            if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                throw new ParameterException(spec.commandLine(), option + " needs --input (batch generation)");
            }
        }
        if (numReturn > 1 && (strategy.beams == null || strategy.beams < numReturn)) {
            throw new IllegalArgumentException("--num-return " + numReturn + " needs --beam B with B >= " + numReturn);
        }
        ModelSource source = ModelSource.of(model);
        GenerationConfig cfg = decoding(source);
        try (TextTokenizer tok = source.tokenizer();
             NDManager root = DeviceChoice.parse(device, "--device").newManager("--device");
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

    private int batch() {
        if (output == null) {
            throw new ParameterException(spec.commandLine(), "--input needs --output DIR");
        }
        for (String option : List.of("--num-return", "--json")) {
            if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
                throw new ParameterException(spec.commandLine(), option + ": only with --prompt or --prompt-ids (one prompt)");
            }
        }
        int tasks = partitions == null ? 0 : partitions;
        if (tasks < 0) {
            throw new ParameterException(spec.commandLine(), "--partitions must be >= 0, got " + tasks);
        }
        TableFiles.Format in = inputFormat != null ? TableFiles.Format.parse("--input-format", inputFormat)
                : TableFiles.Format.ofName(prompt.input);
        TableFiles.Format out = outputFormat != null ? TableFiles.Format.parse("--output-format", outputFormat) : in;
        ModelSource source = ModelSource.of(model);
        GenerationConfig cfg = decoding(source);
        AdapterWeights weights = adapter == null ? null : AdapterWeights.read(adapter, source.config());
        TableFiles.Job job = new TableFiles.Job(prompt.input, in, output, out, promptCol == null ? "prompt" : promptCol,
                outputCol == null ? "output" : outputCol, tasks);
        long rows;
        try (SparkSessions.Session session = SparkSessions.open("splitlora generate", master)) {
            rows = TableFiles.generate(session.spark(), job, model, DeviceChoice.parse(device, "--device"), weights, cfg);
        }
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf("wrote %s: %d rows (%s)%n", output, rows, out.key());
        stdout.flush();
        return 0;
    }

    private GenerationConfig decoding(ModelSource source) {
        Set<Integer> eos = Set.of(source.config().eosTokenId());
        if (strategy.beams != null) {
            return new GenerationConfig(GenerationConfig.Strategy.BEAM, maxNewTokens, 1, 0, 1, 0, strategy.beams,
                    lengthPenalty, noRepeatNgram, false, eos);
        }
        if (strategy.sample) {
            return new GenerationConfig(GenerationConfig.Strategy.SAMPLE, maxNewTokens, temperature, topK, topP, seed, 1,
                    1, noRepeatNgram, false, eos);
        }
        return new GenerationConfig(GenerationConfig.Strategy.GREEDY, maxNewTokens, 1, 0, 1, 0, 1, 1, noRepeatNgram, false, eos);
    }
}
