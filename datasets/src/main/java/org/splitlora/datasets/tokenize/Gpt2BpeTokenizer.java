package org.splitlora.datasets.tokenize;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/** The GPT-2 byte-level BPE (r50k_base, 50257 ids) through jtokkit; ships with no files to load. */
public final class Gpt2BpeTokenizer implements TextTokenizer {

    public static final int VOCAB_SIZE = 50257;
    /** {@code <|endoftext|>}: GPT-2 uses it as BOS, EOS and separator. */
    public static final int END_OF_TEXT = 50256;

    private static final Encoding ENCODING =
            Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        // encodeOrdinary: a literal "<|endoftext|>" in user text stays text, as in HF's GPT-2.
        return ENCODING.encodeOrdinary(text).toArray();
    }

    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= VOCAB_SIZE) {
                throw new IllegalArgumentException(
                        "token id " + id + " is outside the GPT-2 vocabulary [0, " + VOCAB_SIZE + ")");
            }
            if (id != END_OF_TEXT) {
                list.add(id);
            }
        }
        return ENCODING.decode(list);
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int eosTokenId() {
        return END_OF_TEXT;
    }

    @Override
    public int bosTokenId() {
        return END_OF_TEXT;
    }

    @Override
    public String name() {
        return "gpt2-bpe";
    }
}
