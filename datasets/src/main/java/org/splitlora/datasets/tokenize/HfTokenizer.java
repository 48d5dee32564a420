package org.splitlora.datasets.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A Hugging Face {@code tokenizer.json} through DJL's bindings to the Rust tokenizers library. */
public final class HfTokenizer implements TextTokenizer {

    private final HuggingFaceTokenizer tokenizer;
    private final String name;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, String name, int vocabSize, int bosId, int eosId) {
        this.tokenizer = tokenizer;
        this.name = name;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosId;
    }

    /**
     * Loads {@code tokenizer.json}; BOS/EOS come from the model's config.json ids when given (≥ 0),
     * else from the tokenizer's own special tokens.
     */
    public static HfTokenizer load(Path tokenizerJson, int bosFromConfig, int eosFromConfig) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException("tokenizer file not found: " + tokenizerJson);
        }
        try {
            return fromJson(Files.readAllBytes(tokenizerJson), tokenizerJson.toString(), bosFromConfig, eosFromConfig);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** A tokenizer from the bytes of a {@code tokenizer.json}; {@code name} names it in messages. */
    public static HfTokenizer fromJson(byte[] json, String name, int bosFromConfig, int eosFromConfig) {
        JsonObject root;
        try {
            root = JsonParser.parseString(new String(json, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("cannot read tokenizer " + name + ": " + e.getMessage(), e);
        }
        int vocab = vocabSizeOf(root);
        int bos = bosFromConfig >= 0 ? bosFromConfig : specialId(root, "<s>", "<|begin_of_text|>", "<|endoftext|>");
        int eos = eosFromConfig >= 0 ? eosFromConfig : specialId(root, "</s>", "<|end_of_text|>", "<|endoftext|>");
        try (InputStream in = new ByteArrayInputStream(json)) {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(
                    in, Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
            return new HfTokenizer(t, name, vocab, bos, eos);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot load tokenizer " + name + ": " + e.getMessage(), e);
        }
    }

    private static int vocabSizeOf(JsonObject root) {
        int max = -1;
        JsonElement model = root.get("model");
        if (model != null && model.getAsJsonObject().has("vocab")) {
            JsonElement vocab = model.getAsJsonObject().get("vocab");
            if (vocab.isJsonObject()) {
                for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                    max = Math.max(max, e.getValue().getAsInt());
                }
            } else if (vocab.isJsonArray()) {
                max = vocab.getAsJsonArray().size() - 1;
            }
        }
        if (root.has("added_tokens")) {
            for (JsonElement e : root.getAsJsonArray("added_tokens")) {
                max = Math.max(max, e.getAsJsonObject().get("id").getAsInt());
            }
        }
        return max + 1;
    }

    private static int specialId(JsonObject root, String... contents) {
        if (root.has("added_tokens")) {
            for (String c : contents) {
                for (JsonElement e : root.getAsJsonArray("added_tokens")) {
                    JsonObject o = e.getAsJsonObject();
                    if (c.equals(o.get("content").getAsString())) {
                        return o.get("id").getAsInt();
                    }
                }
            }
        }
        return -1;
    }

    @Override
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public TokenSpans encodeWithSpans(String text) {
        ai.djl.huggingface.tokenizers.Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        ai.djl.huggingface.tokenizers.jni.CharSpan[] spans = e.getCharTokenSpans();
        int[] out = new int[ids.length];
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        // the Rust tokenizer counts Unicode scalar values; Java strings count UTF-16 units
        int[] utf16At = utf16Index(text);
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
            starts[i] = utf16At[Math.min(spans[i].getStart(), utf16At.length - 1)];
            ends[i] = utf16At[Math.min(spans[i].getEnd(), utf16At.length - 1)];
        }
        return new TokenSpans(out, starts, ends);
    }

    /** UTF-16 index of each code point index of {@code text}, and of its end. */
    private static int[] utf16Index(String text) {
        int[] at = new int[text.codePointCount(0, text.length()) + 1];
        int cp = 0;
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
            at[cp++] = i;
        }
        at[cp] = text.length();
        return at;
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException(
                        "token id " + ids[i] + " is outside the vocabulary of " + name + " [0, " + vocabSize + ")");
            }
            l[i] = ids[i];
        }
        return tokenizer.decode(l, true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int eosTokenId() {
        return eosId;
    }

    @Override
    public int bosTokenId() {
        return bosId;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
