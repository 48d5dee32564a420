package org.splitlora.datasets.format;

import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.chat.ChatMessage;
import org.splitlora.datasets.chat.ChatRendering;
import org.splitlora.datasets.chat.ChatTemplate;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.datasets.tokenize.TokenSpans;

/**
 * A conversation in its model's chat template: the rendering tokenized whole, as HF's
 * {@code apply_chat_template(tokenize=True)} does (no special tokens added beyond the template's
 * own), with the loss on every assistant turn: the tokens lying wholly inside an assistant span
 * (the reply and its end-of-turn marker).
 */
public final class ChatFormat {

    private ChatFormat() {}

    public static TokenizedExample encode(
            TextTokenizer tokenizer, ChatTemplate template, long exampleId, List<ChatMessage> messages) {
        ChatRendering r = template.renderForTraining(messages);
        TokenSpans t = tokenizer.encodeWithSpans(r.text());
        byte[] mask = new byte[t.ids().length];
        int span = 0;
        for (int i = 0; i < mask.length; i++) {
            while (span < r.assistantSpans().size() && r.assistantSpans().get(span)[1] <= t.starts()[i]) {
                span++;
            }
            if (span < r.assistantSpans().size()) {
                int[] s = r.assistantSpans().get(span);
                if (t.starts()[i] >= s[0] && t.ends()[i] <= s[1]) {
                    mask[i] = 1;
                }
            }
        }
        return new TokenizedExample(exampleId, t.ids(), mask);
    }
}
