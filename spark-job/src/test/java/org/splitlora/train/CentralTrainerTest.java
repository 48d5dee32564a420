package org.splitlora.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.synthetic.SyntheticE2E;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.DecoderModel;
import org.splitlora.model.ModelSource;
import org.splitlora.model.lora.LoraAdapters;
import org.splitlora.model.lora.LoraSpec;
import org.splitlora.model.lora.LoraTarget;
import org.splitlora.testutil.Fixtures;

class CentralTrainerTest {

    @Tag("fixtures")
    @Test
    void stories260kLearnsASmallTextSetAndIsDeterministic() {
        ModelSource source = ModelSource.of(Fixtures.stories260k().toString());
        List<TokenizedExample> all;
        try (TextTokenizer tok = source.tokenizer()) {
            all = storyLines(tok, 60, 17);
        }
        List<TokenizedExample> train = all.subList(0, 48);
        List<TokenizedExample> valid = all.subList(48, 60);
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V), 4, 8, 0.0);
        TrainOptions opts = new TrainOptions(8, 4, new OptimizerConfig(5e-3, 0.9, 0.999, 1e-6, 0.01, 3, 1.0), 0.0, 42);
        Run first = run(source, spec, opts, 30, train, valid);
        Run second = run(source, spec, opts, 30, train, valid);
        assertTrue(first.after < first.before - 0.05,
                "validation loss should fall: " + first.before + " -> " + first.after);
        assertEquals(first.losses, second.losses, "same seed, same losses");
        assertEquals(first.after, second.after, 0.0);
    }

    @Test
    void builtinModelLearnsSyntheticE2E() {
        ModelSource source = ModelSource.of(BuiltinModels.TINY_GPT2);
        List<TokenizedExample> all;
        try (TextTokenizer tok = source.tokenizer()) {
            all = PromptCompletionFormat.encodeE2E(tok, SyntheticE2E.generate(80, 3));
        }
        LoraSpec spec = LoraSpec.of(EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.UP, LoraTarget.DOWN), 8, 16, 0.0);
        TrainOptions opts = new TrainOptions(8, 8, new OptimizerConfig(1e-2, 0.9, 0.999, 1e-6, 0.0, 2, 1.0), 0.0, 7);
        Run r = run(source, spec, opts, 25, all.subList(0, 64), all.subList(64, 80));
        assertTrue(r.after < r.before - 0.3, "validation loss should fall: " + r.before + " -> " + r.after);
    }

    private record Run(List<Double> losses, double before, double after) {}

    /** {@code steps} steps one at a time (as rounds of one local step), each step's loss, then the validation loss. */
    private static Run run(ModelSource source, LoraSpec spec, TrainOptions opts, int steps,
                           List<TokenizedExample> train, List<TokenizedExample> valid) {
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             LoraAdapters lora = LoraAdapters.init(root, source.config(), spec, 0, source.config().numLayers(), opts.seed());
             CentralTrainer trainer = new CentralTrainer(model, lora, opts, train, 0)) {
            double before = Evaluator.evaluate(model, lora, valid, 8).loss();
            List<Double> losses = new ArrayList<>();
            for (int step = 0; step < steps; step++) {
                losses.add(trainer.run(step, 1, steps).sum().loss());
            }
            return new Run(losses, before, Evaluator.evaluate(model, lora, valid, opts.microBatchSize()).loss());
        }
    }

    /** Short TinyStories-like lines, each a language-modelling example (every token after BOS a target). */
    static List<TokenizedExample> storyLines(TextTokenizer tok, int n, long seed) {
        String[] names = {"Tom", "Lily", "Ben", "Sue", "Max", "Anna"};
        String[] things = {"red ball", "big dog", "small cat", "blue car", "green kite", "little bird"};
        String[] places = {"park", "garden", "house", "school", "forest", "beach"};
        Random rng = new Random(seed);
        List<TokenizedExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = names[rng.nextInt(names.length)];
            String text = name + " had a " + things[rng.nextInt(things.length)] + ". " + name
                    + " liked to play with it in the " + places[rng.nextInt(places.length)] + ".";
            int[] ids = tok.encode(text, true);
            byte[] mask = new byte[ids.length];
            java.util.Arrays.fill(mask, 1, ids.length, (byte) 1);
            out.add(new TokenizedExample(i, ids, mask));
        }
        return out;
    }
}
