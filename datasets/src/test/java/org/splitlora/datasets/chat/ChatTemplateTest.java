package org.splitlora.datasets.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The four template styles, rendered by our Jinja engine from the models' own chat_template
 * strings (src/test/resources/chat-templates), against renderings written out by hand from those
 * templates' definitions; and where the assistant spans lie.
 */
class ChatTemplateTest {

    static final List<ChatMessage> WITH_SYSTEM = List.of(
            new ChatMessage("system", "You are terse."),
            new ChatMessage("user", "Hi there"),
            new ChatMessage("assistant", "Hello!"),
            new ChatMessage("user", "2+2?"),
            new ChatMessage("assistant", "4"));
    static final List<ChatMessage> NO_SYSTEM = WITH_SYSTEM.subList(1, WITH_SYSTEM.size());

    static ChatTemplate template(String file, Map<String, String> specials) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/chat-templates/" + file)) {
            return new ChatTemplate(file, new String(in.readAllBytes(), StandardCharsets.UTF_8), specials);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ChatTemplate llama3() {
        return template("llama3.jinja", Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>"));
    }

    static ChatTemplate qwen() {
        return template("qwen2.5.jinja", Map.of("eos_token", "<|im_end|>"));
    }

    static ChatTemplate gemma2() {
        return template("gemma2.jinja", Map.of("bos_token", "<bos>", "eos_token", "<eos>"));
    }

    static ChatTemplate gemma3() {
        return template("gemma3.jinja", Map.of("bos_token", "<bos>", "eos_token", "<eos>"));
    }

    static ChatTemplate phi3() {
        return template("phi3.jinja", Map.of("bos_token", "<s>", "eos_token", "<|endoftext|>"));
    }

    @Test
    void llama3Style() {
        String header = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
        assertEquals(header + "You are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>", llama3().render(WITH_SYSTEM, false));
        // no system message: an empty one; the generation prompt opens an assistant header
        assertEquals(header + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", llama3().render(NO_SYSTEM.subList(0, 1), true));
        assertSpans(llama3(), WITH_SYSTEM, "Hello!<|eot_id|>", "4<|eot_id|>");
    }

    @Test
    void llama3TrimsContent() {
        List<ChatMessage> padded = List.of(new ChatMessage("user", "  Hi  "), new ChatMessage("assistant", "\nYes \n"));
        String out = llama3().render(padded, false);
        assertTrue(out.endsWith("user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYes<|eot_id|>"), out);
    }

    @Test
    void qwenChatMlStyle() {
        assertEquals("<|im_start|>system\nYou are terse.<|im_end|>\n"
                + "<|im_start|>user\nHi there<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\n2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n4<|im_end|>\n", qwen().render(WITH_SYSTEM, false));
        // no system message: Qwen's default one
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", qwen().render(NO_SYSTEM.subList(0, 1), true));
        assertSpans(qwen(), WITH_SYSTEM, "Hello!<|im_end|>\n", "4<|im_end|>\n");
    }

    @Test
    void gemmaStyle() {
        String turns = "<start_of_turn>model\nHello!<end_of_turn>\n"
                + "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>\n";
        assertEquals("<bos><start_of_turn>user\nHi there<end_of_turn>\n" + turns, gemma2().render(NO_SYSTEM, false));
        assertEquals("<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
                gemma2().render(NO_SYSTEM.subList(0, 1), true));
        // Gemma 2 refuses a system turn; Gemma 3 folds it into the first user turn
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gemma2().render(WITH_SYSTEM, false));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
        assertEquals("<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n" + turns, gemma3().render(WITH_SYSTEM, false));
        assertSpans(gemma3(), WITH_SYSTEM, "Hello!<end_of_turn>\n", "4<end_of_turn>\n");
        // roles must alternate
        List<ChatMessage> twoUsers = List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"));
        e = assertThrows(IllegalArgumentException.class, () -> gemma3().render(twoUsers, false));
        assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
    }

    @Test
    void phi3Style() {
        assertEquals("<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\nHello!<|end|>\n"
                + "<|user|>\n2+2?<|end|>\n<|assistant|>\n4<|end|>\n<|endoftext|>", phi3().render(WITH_SYSTEM, false));
        assertEquals("<|user|>\nHi there<|end|>\n<|assistant|>\n", phi3().render(NO_SYSTEM.subList(0, 1), true));
        // the EOS Phi-3 puts after a finished conversation belongs to the last turn only
        assertSpans(phi3(), WITH_SYSTEM, "Hello!<|end|>\n", "4<|end|>\n<|endoftext|>");
    }

    @Test
    void templateFromTokenizerConfigTakesTheDefaultOfNamedTemplatesAndAddedTokenObjects() throws IOException {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("chat");
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<B>"}, "eos_token": "<E>",
                 "chat_template": [{"name": "tool_use", "template": "T"},
                                   {"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"}]}
                """);
        ChatTemplate t = ChatTemplate.fromModelDir(dir).orElseThrow();
        assertEquals("<B>a<E>b<E>", t.render(List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", "b")), false));
        // chat_template.jinja, when present, is the template (transformers writes it so since 4.43)
        java.nio.file.Files.writeString(dir.resolve("chat_template.jinja"), "J{{ eos_token }}");
        assertEquals("J<E>", ChatTemplate.fromModelDir(dir).orElseThrow().render(List.of(new ChatMessage("user", "a")), false));
        java.nio.file.Files.delete(dir.resolve("chat_template.jinja"));
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<E>\"}");
        assertTrue(ChatTemplate.fromModelDir(dir).isEmpty());
    }

    /** The text of each assistant span, in order. */
    static void assertSpans(ChatTemplate t, List<ChatMessage> messages, String... expected) {
        ChatRendering r = t.renderForTraining(messages);
        List<String> got = new ArrayList<>();
        for (int[] s : r.assistantSpans()) {
            got.add(r.text().substring(s[0], s[1]));
        }
        assertEquals(List.of(expected), got);
    }
}
