package org.splitlora.datasets.source;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.splitlora.datasets.chat.ChatMessage;

/**
 * JSON Lines: one object per line, read in the configured {@link JsonlStyle} with the configured
 * field names. Chat transcripts keep their messages for the model's chat template; without one
 * they are rendered as {@code role: content} lines ending in {@code assistant:}, the completion
 * being the last assistant message. Alpaca rows use the Alpaca prompt template.
 */
final class JsonlReader implements RecordReader {

    static final String ALPACA_WITH_INPUT =
            "Below is an instruction that describes a task, paired with an input that provides further context. "
                    + "Write a response that appropriately completes the request.\n\n"
                    + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:";
    static final String ALPACA_NO_INPUT =
            "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                    + "### Instruction:\n%s\n\n### Response:";

    private final JsonlStyle style;
    private final Map<String, String> fields;
    private final String labelField;

    JsonlReader(JsonlStyle style, Map<String, String> fields, String labelField) {
        this.style = style;
        this.fields = fields;
        this.labelField = labelField;
    }

    @Override
    public Iterator<SourceRow> read(int fileIndex, BufferedReader in) {
        return new LineRowIterator(fileIndex, in) {
            @Override
            protected SourceRow parse(int file, long line, String text) {
                JsonElement parsed;
                try {
                    parsed = JsonParser.parseString(text);
                } catch (JsonParseException e) {
                    return SourceRow.bad(file, line, "invalid JSON: " + e.getMessage());
                }
                if (!parsed.isJsonObject()) {
                    return SourceRow.bad(file, line, "expected a JSON object, found " + kind(parsed));
                }
                try {
                    return SourceRow.of(file, line, example(parsed.getAsJsonObject()));
                } catch (IllegalArgumentException e) {
                    return SourceRow.bad(file, line, e.getMessage());
                }
            }
        };
    }

    private RawExample example(JsonObject o) {
        String label = labelField == null || !o.has(labelField) || o.get(labelField).isJsonNull()
                ? null
                : o.get(labelField).isJsonPrimitive() ? o.get(labelField).getAsString() : o.get(labelField).toString();
        return switch (style == JsonlStyle.AUTO ? detect(o) : style) {
            case PROMPT_COMPLETION -> new RawExample(string(o, "prompt", false), string(o, "completion", false), label);
            case ALPACA -> {
                String input = string(o, "input", true);
                String prompt = input.isBlank()
                        ? String.format(ALPACA_NO_INPUT, string(o, "instruction", false))
                        : String.format(ALPACA_WITH_INPUT, string(o, "instruction", false), input);
                yield new RawExample(prompt, string(o, "output", false), label);
            }
            case CHAT -> chat(o, label);
            case TEXT -> RawExample.text(string(o, "text", false), label);
            case AUTO -> throw new IllegalStateException();
        };
    }

    private JsonlStyle detect(JsonObject o) {
        if (o.has(fields.get("messages"))) {
            return JsonlStyle.CHAT;
        }
        if (o.has(fields.get("instruction")) && o.has(fields.get("output"))) {
            return JsonlStyle.ALPACA;
        }
        if (o.has(fields.get("prompt")) && o.has(fields.get("completion"))) {
            return JsonlStyle.PROMPT_COMPLETION;
        }
        if (o.has(fields.get("text"))) {
            return JsonlStyle.TEXT;
        }
        throw new IllegalArgumentException("no '" + fields.get("messages") + "', '" + fields.get("instruction") + "'+'"
                + fields.get("output") + "', '" + fields.get("prompt") + "'+'" + fields.get("completion")
                + "' or '" + fields.get("text") + "' field");
    }

    private RawExample chat(JsonObject o, String label) {
        String name = fields.get("messages");
        JsonElement m = o.get(name);
        if (m == null || !m.isJsonArray()) {
            throw new IllegalArgumentException("field '" + name + "' must be a list of {role, content}");
        }
        int last = -1;
        for (int i = 0; i < m.getAsJsonArray().size(); i++) {
            if ("assistant".equals(role(m.getAsJsonArray().get(i), name, i))) {
                last = i;
            }
        }
        if (last < 0) {
            throw new IllegalArgumentException("field '" + name + "' has no assistant message");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < m.getAsJsonArray().size(); i++) {
            JsonObject msg = m.getAsJsonArray().get(i).getAsJsonObject();
            messages.add(new ChatMessage(msg.get("role").getAsString(), content(msg, name, i)));
        }
        StringBuilder prompt = new StringBuilder();
        for (int i = 0; i < last; i++) {
            prompt.append(messages.get(i).role()).append(": ").append(messages.get(i).content()).append('\n');
        }
        prompt.append("assistant:");
        String completion = messages.get(last).content();
        if (completion.isBlank()) {
            throw new IllegalArgumentException("field '" + name + "': the last assistant message is empty");
        }
        return new RawExample(prompt.toString(), completion, label, messages);
    }

    private static String role(JsonElement msg, String field, int i) {
        if (!msg.isJsonObject() || !msg.getAsJsonObject().has("role")
                || !msg.getAsJsonObject().get("role").isJsonPrimitive()) {
            throw new IllegalArgumentException("field '" + field + "'[" + i + "] has no string 'role'");
        }
        return msg.getAsJsonObject().get("role").getAsString();
    }

    private static String content(JsonObject msg, String field, int i) {
        JsonElement c = msg.get("content");
        if (c == null || !c.isJsonPrimitive()) {
            throw new IllegalArgumentException("field '" + field + "'[" + i + "] has no string 'content'");
        }
        return c.getAsString();
    }

    /** The string value of the field playing {@code role}; empty values are refused unless optional. */
    private String string(JsonObject o, String role, boolean optional) {
        String name = fields.get(role);
        JsonElement e = o.get(name);
        if (e == null || e.isJsonNull()) {
            if (optional) {
                return "";
            }
            throw new IllegalArgumentException("missing field '" + name + "'");
        }
        if (!e.isJsonPrimitive()) {
            throw new IllegalArgumentException("field '" + name + "' must be a string, found " + kind(e));
        }
        String s = e.getAsString();
        if (s.isBlank() && !optional) {
            throw new IllegalArgumentException("field '" + name + "' is empty");
        }
        return s;
    }

    private static String kind(JsonElement e) {
        if (e.isJsonArray()) {
            return "an array";
        }
        if (e.isJsonObject()) {
            return "an object";
        }
        if (e.isJsonNull()) {
            return "null";
        }
        return e.getAsJsonPrimitive().isString() ? "a string" : e.getAsJsonPrimitive().isNumber() ? "a number" : "a boolean";
    }
}
