package org.splitlora.cli;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.splitlora.model.random.ModelShapes;
import org.splitlora.model.random.RandomModelWriter;
import org.splitlora.model.weights.TensorDType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "random-model", mixinStandardHelpOptions = true,
        description = {"Writes a seeded random model of a real shape as an HF model directory, for benchmarks without a"
                + " download: the published config.json, safetensors weights (HF init: N(0, 0.02), norms 1, biases 0;"
                + " sharded above 4 GiB), a byte-level tokenizer.json with the model's special tokens (GPT-2 shapes use"
                + " the built-in GPT-2 BPE) and splitlora_random_model.json. Same seed, same bytes.",
                "",
                "Shapes (config.json of the HF repository):",
                "  gpt2            openai-community/gpt2, 124M",
                "  gpt2-medium     openai-community/gpt2-medium, 355M",
                "  llama-3.2-1b    meta-llama/Llama-3.2-1B, 1.24B",
                "  qwen3-0.6b      Qwen/Qwen3-0.6B, 596M",
                "  tinyllama-1.1b  TinyLlama/TinyLlama-1.1B-Chat-v1.0, 1.10B",
                ""})
final class RandomModelCommand implements Callable<Integer> {

    @Option(names = "--shape", required = true, paramLabel = "SHAPE", completionCandidates = Shapes.class,
            description = "The shape to write (above).")
    String shape;

    @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "f32|bf16|f16",
            description = "Storage dtype of the weights (default: ${DEFAULT-VALUE}, as hub models are stored).")
    String dtype;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--layers", paramLabel = "N", description = "Number of layers instead of the published count (for quick tests).")
    Integer layers;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "The model directory to write; it must not exist or be empty.")
    Path out;

    @Option(names = "--overwrite",
            description = "Replace --out if it holds a model random-model wrote (and nothing else).")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    static final class Shapes implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ModelShapes.names().iterator();
        }
    }

    @Override
    public Integer call() throws Exception {
        ModelShapes.Shape s;
        TensorDType t;
        try {
            s = ModelShapes.get(shape);
            t = RandomModelWriter.parseDtype(dtype);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (layers != null && layers < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--layers must be at least 1, got " + layers);
        }
        RandomModelWriter.Result r = RandomModelWriter.write(
                new RandomModelWriter.Request(s, layers == null ? 0 : layers, t, seed, out, overwrite));
        spec.commandLine().getOut().println(String.format(Locale.ROOT,
                "wrote %s (%s, %s, seed %d) to %s: %,d parameters, %,d bytes of weights in %d file(s), %.1f s",
                s.name(), layers == null ? "all layers" : layers + (layers == 1 ? " layer" : " layers"),
                t.name().toLowerCase(Locale.ROOT), seed, r.dir(), r.parameters(), r.weightBytes(),
                r.files().stream().filter(f -> f.endsWith(".safetensors")).count(), r.seconds()));
        return 0;
    }
}
