package org.splitlora.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.generate.GenerationResult;
import org.splitlora.model.generate.Generator;
import org.splitlora.testutil.Fixtures;

/** The real pretrained stories260K Llama reproduces llama2.c's own expected greedy story. */
@Tag("fixtures")
class Stories260kGenerationTest {

    /** expected_stdout of karpathy/llama2.c test_all.py for run.c -t 0.0 -n 200 on this checkpoint. */
    static final String LLAMA2C_EXPECTED =
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                    + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
                    + "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
                    + "She said, \"I want to play with your ball, but I can't find it.\"\n"
                    + "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
                    + "Lily didn't want to help her mom, so she";

    @Test
    void greedyStoryFromBosMatchesLlama2c() {
        ModelSource source = ModelSource.of(Fixtures.stories260k().toString());
        try (NDManager root = NDManager.newBaseManager();
             DecoderModel model = source.loadWhole(root);
             TextTokenizer tok = source.tokenizer()) {
            GenerationResult r = new Generator(model, null).generate(
                    new int[] {source.config().bosTokenId()}, GenerationConfig.greedy(200, Set.of()));
            assertEquals(200, r.tokens().length);
            assertEquals(LLAMA2C_EXPECTED, tok.decode(r.tokens()));
        }
    }
}
