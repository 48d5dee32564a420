package org.splitlora.datasets.source;

import java.io.Serializable;

/**
 * One example as read from a source, before tokenization: a prompt and its completion (the loss
 * is on the completion only), or, when {@code prompt} is null, a text whose every token is a
 * target. {@code label} is the class used by the label Dirichlet partitioner (may be null).
 */
public record RawExample(String prompt, String completion, String label) implements Serializable {

    public static RawExample text(String text, String label) {
        return new RawExample(null, text, label);
    }

    public boolean isPlainText() {
        return prompt == null;
    }
}
