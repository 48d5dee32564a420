package org.splitlora.datasets.tokenize;

/** Text to token ids and back: one interface over HF tokenizer.json and the GPT-2 BPE. */
public interface TextTokenizer extends AutoCloseable {

    /** Encodes text; {@code addSpecialTokens} adds what the tokenizer's post-processor adds (e.g. BOS). */
    int[] encode(String text, boolean addSpecialTokens);

    /**
     * Encodes text without adding special tokens (special-token text in it, e.g. a chat template's
     * {@code <|im_start|>}, becomes the special token where the tokenizer knows it) and says where
     * each token lies in the text.
     */
    TokenSpans encodeWithSpans(String text);

    /** Decodes ids, leaving out special tokens (BOS, EOS, padding). */
    String decode(int[] ids);

    int vocabSize();

    /** The end-of-sequence id appended after a completion. */
    int eosTokenId();

    /** The beginning-of-sequence id, or -1 if the tokenizer has none. */
    int bosTokenId();

    /** A short description for manifests and logs, e.g. {@code gpt2-bpe} or a file path. */
    String name();

    @Override
    default void close() {}
}
