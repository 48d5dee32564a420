package org.splitlora.datasets.source;

import org.splitlora.datasets.EnumOption;

/** How a JSONL object becomes an example. */
public enum JsonlStyle {
    /** Per line: the first of chat, alpaca, prompt-completion, text whose fields are present. */
    AUTO,
    /** {@code prompt} and {@code completion}. */
    PROMPT_COMPLETION,
    /** {@code instruction}, optional {@code input}, {@code output}, in the Alpaca prompt template. */
    ALPACA,
    /**
     * {@code messages}: a list of {role, content}, rendered by the model's chat template with the
     * loss on every assistant turn; without a template, the last assistant message is the completion.
     */
    CHAT,
    /** {@code text}: language modelling, every token a target. */
    TEXT;

    public static JsonlStyle parse(String s) {
        return EnumOption.parse(JsonlStyle.class, s, "JSONL style");
    }
}
