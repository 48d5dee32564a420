package org.splitlora.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.testutil.Fixtures;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;
import org.splitlora.datasets.tokenize.HfTokenizer;
import org.splitlora.datasets.tokenize.TextTokenizer;

class TokenizersTest {

    @Test
    void gpt2BpeGivesTheKnownIds() {
        try (TextTokenizer t = new Gpt2BpeTokenizer()) {
            // published GPT-2 ids of the pangram (see the tiny-gpt2 fixture README)
            assertArrayEquals(new int[] {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290},
                    t.encode("The quick brown fox jumps over the lazy dog", true));
            assertEquals("The quick brown fox", t.decode(new int[] {50256, 464, 2068, 7586, 21831}));
            assertEquals(50256, t.eosTokenId());
            assertEquals(50257, t.vocabSize());
            assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {50257}));
        }
    }

    @Tag("fixtures")
    @Test
    void stories260kTokenizerAddsBosAndRoundTrips() {
        try (TextTokenizer t = HfTokenizer.load(Fixtures.file("hf/stories260k/tokenizer.json"), 1, 2)) {
            String text = "Lily's mom said, \"Let's go to the park.\"  Two  spaces stay.";
            int[] ids = t.encode(text, true);
            assertEquals(1, ids[0]);
            assertEquals(text, t.decode(ids));
            assertEquals(512, t.vocabSize());
            assertEquals(2, t.eosTokenId());
            // without special tokens there is no BOS
            assertEquals(ids.length - 1, t.encode(text, false).length);
        }
    }

    @Test
    void missingTokenizerFileIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HfTokenizer.load(Path.of("/nope/tokenizer.json"), -1, -1));
        assertEquals("tokenizer file not found: /nope/tokenizer.json", e.getMessage());
    }
}
