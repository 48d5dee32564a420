package org.splitlora.datasets.source;

import java.io.Serializable;
import java.util.List;
import org.splitlora.datasets.chat.ChatMessage;

/**
 * One example as read from a source, before tokenization: a prompt and its completion (the loss
 * is on the completion only), or, when {@code prompt} is null, a text whose every token is a
 * target. {@code label} is the class used by the label Dirichlet partitioner (may be null). A chat
 * transcript also keeps its {@code messages}, for the model's chat template; its prompt and
 * completion are the plain {@code role: content} layout used when there is no template.
 */
public record RawExample(String prompt, String completion, String label, List<ChatMessage> messages)
        implements Serializable {

    public RawExample(String prompt, String completion, String label) {
        this(prompt, completion, label, null);
    }

    public RawExample {
        messages = messages == null ? null : List.copyOf(messages);
    }

    public static RawExample text(String text, String label) {
        return new RawExample(null, text, label);
    }

    public boolean isPlainText() {
        return prompt == null;
    }
}
