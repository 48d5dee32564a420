package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.splitlora.datasets.prepare.Manifest;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import org.splitlora.model.BuiltinModels;
import org.splitlora.model.config.ModelConfig;

/** A dataset fits a model whose embedding has at least as many rows as its tokenizer has tokens (real models pad it). */
class TokenizerVocabularyCheckTest {

    private static Manifest manifest(int vocab, String sha) {
        Manifest m = new Manifest();
        m.tokenizer = new Manifest.Tokenizer();
        m.tokenizer.name = "gpt2-bpe";
        m.tokenizer.vocabSize = vocab;
        m.tokenizer.sha256 = sha;
        return m;
    }

    @Test
    void aTokenizerVocabularyUpToTheModelsFitsALargerOneIsRefused() {
        ModelConfig model = BuiltinModels.tinyGpt2Config();
        TokenizerSpec tok = TokenizerSpec.gpt2Bpe();
        int v = model.vocabSize();
        assertDoesNotThrow(() -> ClientShards.checkTokenizer("data.dir d", manifest(v, tok.sha256()), model, tok));
        assertDoesNotThrow(() -> ClientShards.checkTokenizer("data.dir d", manifest(v - 300, tok.sha256()), model, tok));
        IllegalArgumentException larger = assertThrows(IllegalArgumentException.class,
                () -> ClientShards.checkTokenizer("data.dir d", manifest(v + 1, tok.sha256()), model, tok));
        assertEquals("data.dir d was tokenized with a vocabulary of " + (v + 1) + ", larger than the model's " + v,
                larger.getMessage());
        IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
                () -> ClientShards.checkTokenizer("data.dir d", manifest(v, "0123456789abcdef"), model, tok));
        assertEquals("data.dir d was tokenized with gpt2-bpe (sha256 0123456789ab…), not this model's tokenizer",
                other.getMessage());
    }
}
