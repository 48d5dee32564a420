package org.splitlora.datasets.encode;

import java.util.Arrays;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.chat.ChatTemplate;
import org.splitlora.datasets.format.ChatFormat;
import org.splitlora.datasets.format.PromptCompletionFormat;
import org.splitlora.datasets.source.RawExample;
import org.splitlora.datasets.source.SourceRow;
import org.splitlora.datasets.tokenize.TextTokenizer;

/**
 * Tokenizes source rows one at a time: chat transcripts in the model's chat template (loss on the
 * assistant turns), prompt/completion pairs in the recipe layout (loss on the completion and EOS
 * only), plain text with every token a target and EOS appended. Rows longer
 * than {@code maxLength} are truncated, skipped or fatal as the policy says; unreadable rows are
 * counted, or fatal under {@link BadRowPolicy#FAIL}.
 */
public final class ExampleEncoder {

    private final TextTokenizer tokenizer;
    private final int maxLength;
    private final OverlongPolicy overlong;
    private final BadRowPolicy badRows;
    private final ChatTemplate chatTemplate;

    /** {@code chatTemplate}: renders chat rows (null: the plain {@code role: content} layout). */
    public ExampleEncoder(
            TextTokenizer tokenizer, int maxLength, OverlongPolicy overlong, BadRowPolicy badRows, ChatTemplate chatTemplate) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.overlong = overlong;
        this.badRows = badRows;
        this.chatTemplate = chatTemplate;
    }

    public EncodedRow encode(long exampleId, SourceRow row) {
        if (!row.ok()) {
            return EncodedRow.problem(exampleId, row.fileIndex(), row.line(), row.problem(),
                    row.fatal() || badRows == BadRowPolicy.FAIL);
        }
        RawExample ex = row.example();
        int[] ids;
        byte[] mask;
        if (ex.messages() != null && chatTemplate != null) {
            try {
                TokenizedExample t = ChatFormat.encode(tokenizer, chatTemplate, exampleId, ex.messages());
                ids = t.inputIds();
                mask = t.lossMask();
            } catch (IllegalArgumentException e) {
                return EncodedRow.problem(exampleId, row.fileIndex(), row.line(), e.getMessage(), badRows == BadRowPolicy.FAIL);
            }
        } else if (ex.isPlainText()) {
            ids = withEos(tokenizer.encode(ex.completion(), true));
            mask = new byte[ids.length];
            Arrays.fill(mask, (byte) 1);
        } else {
            TokenizedExample t = PromptCompletionFormat.encode(tokenizer, exampleId, ex.prompt(), ex.completion());
            ids = t.inputIds();
            mask = t.lossMask();
        }
        boolean truncated = false;
        if (ids.length > maxLength) {
            if (overlong != OverlongPolicy.TRUNCATE) {
                return EncodedRow.problem(exampleId, row.fileIndex(), row.line(),
                        ids.length + " tokens, longer than max-length " + maxLength, overlong == OverlongPolicy.FAIL);
            }
            ids = Arrays.copyOf(ids, maxLength);
            mask = Arrays.copyOf(mask, maxLength);
            truncated = true;
        }
        EncodedRow out = new EncodedRow(exampleId, row.fileIndex(), row.line(), ids, mask, ex.label(), truncated, null, false);
        if (out.targetCount() == 0) {
            return EncodedRow.problem(exampleId, row.fileIndex(), row.line(),
                    "no target tokens within max-length " + maxLength + " (the prompt fills it)",
                    overlong == OverlongPolicy.FAIL);
        }
        return out;
    }

    private int[] withEos(int[] ids) {
        int[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = tokenizer.eosTokenId();
        return out;
    }
}
