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
    public TokenSpans encodeWithSpans(String text) {
        int[] ids = encode(text, false);
        // byte-level BPE: each token is a run of the text's UTF-8 bytes, in order; the UTF-16
        // index of the character each byte belongs to, and of the end
        int[] utf16AtByte = new int[4 * text.length() + 1];
        int b = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            java.util.Arrays.fill(utf16AtByte, b, b + n, i);
            b += n;
            i += Character.charCount(cp);
        }
        utf16AtByte[b] = text.length();
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        int pos = 0;
        for (int t = 0; t < ids.length; t++) {
            IntArrayList one = new IntArrayList(1);
            one.add(ids[t]);
            starts[t] = utf16AtByte[pos];
            pos += ENCODING.decodeBytes(one).length;
            ends[t] = utf16AtByte[pos];
        }
        return new TokenSpans(ids, starts, ends);
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
