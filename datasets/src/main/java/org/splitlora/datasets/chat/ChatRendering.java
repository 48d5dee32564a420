package org.splitlora.datasets.chat;

import java.util.List;

/**
 * A conversation rendered by its template, and where each assistant turn lies in the text: the
 * spans the loss is computed on (the reply and the template's end-of-turn marker after it).
 *
 * @param assistantSpans {@code [start, end)} UTF-16 indices into {@code text}, in order
 */
public record ChatRendering(String text, List<int[]> assistantSpans) {

    public ChatRendering {
        assistantSpans = List.copyOf(assistantSpans);
    }
}
