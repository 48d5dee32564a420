package org.splitlora.datasets.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.chat.ChatMessage;
import org.splitlora.datasets.chat.ChatTemplate;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.EncodedRow;
import org.splitlora.datasets.encode.ExampleEncoder;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.source.RawExample;
import org.splitlora.datasets.source.SourceRow;
import org.splitlora.datasets.tokenize.ByteLevelTokenizerJson;
import org.splitlora.datasets.tokenize.ByteLevelTokenizerJson.SpecialToken;
import org.splitlora.datasets.tokenize.Gpt2BpeTokenizer;
import org.splitlora.datasets.tokenize.HfTokenizer;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.datasets.tokenize.TokenSpans;

/** Chat rows to token ids and loss masks: the rendering tokenized whole, targets = the assistant turns. */
class ChatFormatTest {

    static final String CHATML = "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    static final List<ChatMessage> CHAT = List.of(
            new ChatMessage("user", "Wie heißt du? 🙂"),
            new ChatMessage("assistant", "Ich heiße Lora 🙂."),
            new ChatMessage("user", "Und?"),
            new ChatMessage("assistant", "Das ist alles."));

    /** A byte-level BPE with no merges (a token per byte) that knows ChatML's markers as special tokens. */
    static TextTokenizer byteLevelWithChatMl() {
        String json = ByteLevelTokenizerJson.json(List.of(new SpecialToken(256, "<|im_start|>"), new SpecialToken(257, "<|im_end|>")),
                null);
        return HfTokenizer.fromJson(json.getBytes(StandardCharsets.UTF_8), "byte-level", -1, 257);
    }

    @Test
    void targetsAreTheAssistantTurnsWithTheirEndMarkers() {
        ChatTemplate t = new ChatTemplate("chatml", CHATML, Map.of());
        for (TextTokenizer tok : List.of(new Gpt2BpeTokenizer(), byteLevelWithChatMl())) {
            TokenizedExample ex = ChatFormat.encode(tok, t, 7, CHAT);
            String whole = t.render(CHAT, false);
            // the whole rendering, tokenized in one piece
            assertArrayEquals(tok.encodeWithSpans(whole).ids(), ex.inputIds(), tok.name());
            List<String> targets = runs(tok, ex, (byte) 1);
            List<String> context = runs(tok, ex, (byte) 0);
            assertEquals(List.of("Ich heiße Lora 🙂.<|im_end|>\n", "Das ist alles.<|im_end|>\n"), targets, tok.name());
            assertEquals(List.of("<|im_start|>user\nWie heißt du? 🙂<|im_end|>\n<|im_start|>assistant\n",
                    "<|im_start|>user\nUnd?<|im_end|>\n<|im_start|>assistant\n"), context, tok.name());
        }
    }

    @Test
    void spansAreUtf16IndicesOfTheText() {
        for (TextTokenizer tok : List.of(new Gpt2BpeTokenizer(), byteLevelWithChatMl())) {
            String text = "a🙂b<|im_end|>ß";
            TokenSpans s = tok.encodeWithSpans(text);
            // every token's span, read back from the text, covers what the token decodes to
            StringBuilder joined = new StringBuilder();
            int last = 0;
            for (int i = 0; i < s.ids().length; i++) {
                assertTrue(s.starts()[i] >= last - 2 && s.ends()[i] <= text.length(), tok.name() + " token " + i);
                if (s.starts()[i] >= last) {
                    joined.append(text, s.starts()[i], s.ends()[i]);
                    last = s.ends()[i];
                }
            }
            assertEquals(text, joined.toString(), tok.name());
        }
    }

    @Test
    void aTemplateErrorIsABadRowNamingTheTemplatesMessage() {
        ChatTemplate strict = new ChatTemplate("strict",
                "{% if messages[0].role != 'user' %}{{ raise_exception('first turn must be the user') }}{% endif %}" + CHATML, Map.of());
        ExampleEncoder enc = new ExampleEncoder(new Gpt2BpeTokenizer(), 512, OverlongPolicy.TRUNCATE, BadRowPolicy.FAIL, strict);
        List<ChatMessage> bad = List.of(new ChatMessage("assistant", "Hi"));
        EncodedRow row = enc.encode(0, SourceRow.of(0, 3, new RawExample("assistant:", "Hi", null, bad)));
        assertFalse(row.ok());
        assertEquals("chat template strict: first turn must be the user", row.problem());
        // without a template the same row takes the plain layout: loss on the last assistant message
        ExampleEncoder plain = new ExampleEncoder(new Gpt2BpeTokenizer(), 512, OverlongPolicy.TRUNCATE, BadRowPolicy.FAIL, null);
        EncodedRow p = plain.encode(0, SourceRow.of(0, 3, new RawExample("assistant:", "Hi", null, bad)));
        assertArrayEquals(PromptCompletionFormat.encode(new Gpt2BpeTokenizer(), 0, "assistant:", "Hi").inputIds(), p.inputIds());
    }

    /** The decoded runs of consecutive tokens whose mask is {@code value}. */
    private static List<String> runs(TextTokenizer tok, TokenizedExample ex, byte value) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int[] ids = ex.inputIds();
        while (i < ids.length) {
            if (ex.lossMask()[i] != value) {
                i++;
                continue;
            }
            int j = i;
            while (j < ids.length && ex.lossMask()[j] == value) {
                j++;
            }
            out.add(decodeAll(tok, java.util.Arrays.copyOfRange(ids, i, j)));
            i = j;
        }
        return out;
    }

    /** Decodes keeping special tokens (decode() drops them). */
    private static String decodeAll(TextTokenizer tok, int[] ids) {
        StringBuilder sb = new StringBuilder();
        List<Integer> run = new ArrayList<>();
        for (int id : ids) {
            if (tok instanceof HfTokenizer && id >= 256) {
                sb.append(tok.decode(run.stream().mapToInt(Integer::intValue).toArray()));
                run.clear();
                sb.append(id == 256 ? "<|im_start|>" : "<|im_end|>");
            } else {
                run.add(id);
            }
        }
        sb.append(tok.decode(run.stream().mapToInt(Integer::intValue).toArray()));
        return sb.toString();
    }
}
