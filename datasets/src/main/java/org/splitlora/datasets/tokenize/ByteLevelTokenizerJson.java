package org.splitlora.datasets.tokenize;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A {@code tokenizer.json} that tokenizes any text: byte-level BPE without merges (one token per
 * UTF-8 byte, GPT-2's byte-to-unicode symbols), ByteLevel pre-tokenizer and decoder, and special
 * tokens at given ids (a random model's, or a chat template's markers in tests). The 256 byte
 * symbols take the lowest ids no special token holds (0-255 unless a special token sits there, as
 * Llama 2's {@code <s>} at 1).
 */
public final class ByteLevelTokenizerJson {

    /** A special token (never split, added as one id) at its id. */
    public record SpecialToken(int id, String content) {}

    private ByteLevelTokenizerJson() {}

    /** GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the others for 256, 257, .... */
    static int[] byteSymbols() {
        int[] cp = new int[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            cp[b] = printable ? b : next++;
        }
        return cp;
    }

    /** The ids of bytes 0..255. */
    static int[] byteIds(List<SpecialToken> specials) {
        Set<Integer> taken = new HashSet<>();
        specials.forEach(s -> taken.add(s.id()));
        int[] ids = new int[256];
        int id = 0;
        for (int b = 0; b < 256; b++) {
            while (taken.contains(id)) {
                id++;
            }
            ids[b] = id++;
        }
        return ids;
    }

    /** The tokenizer with {@code specials}; {@code bos}, one of them or null, is put before every text. */
    public static String json(List<SpecialToken> specials, SpecialToken bos) {
        if (bos != null && !specials.contains(bos)) {
            throw new IllegalArgumentException("BOS " + bos + " is not one of the special tokens " + specials);
        }
        int[] symbols = byteSymbols();
        int[] ids = byteIds(specials);

        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        for (SpecialToken s : specials) {
            JsonObject t = new JsonObject();
            t.addProperty("id", s.id());
            t.addProperty("content", s.content());
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        }
        root.add("added_tokens", added);
        root.add("normalizer", JsonNull.INSTANCE);
        root.add("pre_tokenizer", byteLevel(false, true));
        root.add("post_processor", bos != null ? prependBos(bos) : byteLevel(true, false));
        root.add("decoder", byteLevel(true, true));

        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        model.add("unk_token", JsonNull.INSTANCE);
        model.add("continuing_subword_prefix", JsonNull.INSTANCE);
        model.add("end_of_word_suffix", JsonNull.INSTANCE);
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", false);
        JsonObject vocab = new JsonObject();
        List<Integer> order = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            order.add(b);
        }
        order.sort((a, b) -> Integer.compare(ids[a], ids[b]));
        for (int b : order) {
            vocab.addProperty(new String(Character.toChars(symbols[b])), ids[b]);
        }
        model.add("vocab", vocab);
        model.add("merges", new JsonArray());
        root.add("model", model);
        return new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n";
    }

    private static JsonObject byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        JsonObject o = new JsonObject();
        o.addProperty("type", "ByteLevel");
        o.addProperty("add_prefix_space", addPrefixSpace);
        o.addProperty("trim_offsets", trimOffsets);
        o.addProperty("use_regex", true);
        return o;
    }

    /** HF's TemplateProcessing that puts BOS before a text (and before each of a pair), as Llama's tokenizers do. */
    private static JsonObject prependBos(SpecialToken bos) {
        JsonObject o = new JsonObject();
        o.addProperty("type", "TemplateProcessing");
        o.add("single", template(bos, "A"));
        JsonArray pair = template(bos, "A");
        pair.addAll(template(bos, "B"));
        o.add("pair", pair);
        JsonObject special = new JsonObject();
        JsonObject entry = new JsonObject();
        entry.addProperty("id", bos.content());
        JsonArray idList = new JsonArray();
        idList.add(bos.id());
        entry.add("ids", idList);
        JsonArray tokens = new JsonArray();
        tokens.add(bos.content());
        entry.add("tokens", tokens);
        special.add(bos.content(), entry);
        o.add("special_tokens", special);
        return o;
    }

    private static JsonArray template(SpecialToken bos, String sequence) {
        JsonArray a = new JsonArray();
        JsonObject sp = new JsonObject();
        JsonObject spBody = new JsonObject();
        spBody.addProperty("id", bos.content());
        spBody.addProperty("type_id", sequence.equals("A") ? 0 : 1);
        sp.add("SpecialToken", spBody);
        a.add(sp);
        JsonObject seq = new JsonObject();
        JsonObject seqBody = new JsonObject();
        seqBody.addProperty("id", sequence);
        seqBody.addProperty("type_id", sequence.equals("A") ? 0 : 1);
        seq.add("Sequence", seqBody);
        a.add(seq);
        return a;
    }
}
