package org.splitlora.datasets.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.tokenize.TextTokenizer;

/**
 * The LoRA / SplitLoRA fine-tuning layout: {@code context ids, separator, " " + completion ids,
 * EOS}. Only the completion tokens and the EOS are targets of the loss.
 */
public final class PromptCompletionFormat {

    private PromptCompletionFormat() {}

    public static TokenizedExample encode(
            TextTokenizer tokenizer, long exampleId, String context, String completion) {
        int[] ctx = tokenizer.encode(context, true);
        int[] cmp = tokenizer.encode(" " + completion, false);
        int sep = tokenizer.eosTokenId();
        int n = ctx.length + 1 + cmp.length + 1;
        int[] ids = Arrays.copyOf(ctx, n);
        ids[ctx.length] = sep;
        System.arraycopy(cmp, 0, ids, ctx.length + 1, cmp.length);
        ids[n - 1] = tokenizer.eosTokenId();
        byte[] mask = new byte[n];
        Arrays.fill(mask, ctx.length + 1, n, (byte) 1);
        return new TokenizedExample(exampleId, ids, mask);
    }

    /** E2E pairs (meaning representation, reference) in the recipe layout, ids 0, 1, 2, ... */
    public static List<TokenizedExample> encodeE2E(TextTokenizer tokenizer, List<? extends E2EPair> pairs) {
        List<TokenizedExample> out = new ArrayList<>(pairs.size());
        long id = 0;
        for (E2EPair p : pairs) {
            out.add(encode(tokenizer, id++, e2eContext(p.mr()), p.ref()));
        }
        return out;
    }

    /** A meaning representation and its reference text, like a row of the E2E CSV. */
    public interface E2EPair {
        String mr();

        String ref();
    }

    /** The prompt part alone (context + separator), as fed to generation. */
    public static int[] encodePrompt(TextTokenizer tokenizer, String context) {
        int[] ctx = tokenizer.encode(context, true);
        int[] ids = Arrays.copyOf(ctx, ctx.length + 1);
        ids[ctx.length] = tokenizer.eosTokenId();
        return ids;
    }

    /** Splits a meaning representation at the commas between its {@code attribute[value]} parts. */
    private static String[] e2eParts(String mr) {
        return mr.split(",\\s*(?![^\\[]*\\])");
    }

    /** The attributes of an E2E meaning representation, {@code name[X], eatType[pub]} → {name=X, eatType=pub}. */
    public static Map<String, String> e2eAttributes(String mr) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String part : e2eParts(mr)) {
            String p = part.trim();
            int open = p.indexOf('[');
            int close = p.lastIndexOf(']');
            if (open > 0 && close > open) {
                out.put(p.substring(0, open).trim(), p.substring(open + 1, close));
            }
        }
        return out;
    }

    /** E2E meaning representation {@code name[X], eatType[pub]} as the recipe's context {@code name : X | eatType : pub}. */
    public static String e2eContext(String mr) {
        StringBuilder sb = new StringBuilder();
        for (String part : e2eParts(mr)) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int open = p.indexOf('[');
            int close = p.lastIndexOf(']');
            if (sb.length() > 0) {
                sb.append(" | ");
            }
            if (open > 0 && close > open) {
                sb.append(p, 0, open).append(" : ").append(p, open + 1, close);
            } else {
                sb.append(p);
            }
        }
        return sb.toString();
    }
}
