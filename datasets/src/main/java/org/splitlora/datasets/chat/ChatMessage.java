package org.splitlora.datasets.chat;

import java.io.Serializable;

/** One turn of a conversation, as in HF's {@code messages}: a role (system, user, assistant...) and its text. */
public record ChatMessage(String role, String content) implements Serializable {

    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("a chat message needs a role");
        }
        if (content == null) {
            throw new IllegalArgumentException("chat message of role '" + role + "' has no content");
        }
    }

    public boolean isAssistant() {
        return "assistant".equals(role);
    }
}
