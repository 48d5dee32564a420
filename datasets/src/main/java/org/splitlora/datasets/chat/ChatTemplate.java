package org.splitlora.datasets.chat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A model's chat template: the Jinja source HF's {@code apply_chat_template} renders, with the
 * special tokens it refers to ({@code bos_token}, {@code eos_token}...). Rendered as HF does
 * (Jinja with trim_blocks and lstrip_blocks, {@code raise_exception}, the special tokens as
 * variables); {@code strftime_now} is left undefined so that a rendering never depends on the
 * day, and templates then use their fixed fallback date. Serializable, so executors render.
 */
public final class ChatTemplate implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final String[] SPECIAL_TOKENS =
            {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};

    private final String name;
    private final String source;
    private final Map<String, String> specialTokens;
    private transient Jinjava jinjava;

    public ChatTemplate(String name, String source, Map<String, String> specialTokens) {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("chat template " + name + " is empty");
        }
        this.name = name;
        this.source = source;
        this.specialTokens = Map.copyOf(specialTokens);
    }

    /**
     * The template of an HF model or tokenizer directory: {@code chat_template.jinja} when there is
     * one (transformers ≥ 4.43 writes it), else {@code chat_template} of tokenizer_config.json (a
     * string, or a list of named templates of which "default" is taken); special tokens from
     * tokenizer_config.json. Empty when the directory has no template.
     */
    public static Optional<ChatTemplate> fromModelDir(Path dir) {
        Path config = dir.resolve("tokenizer_config.json");
        JsonObject tc = tokenizerConfig(config);
        Map<String, String> specials = tc == null ? Map.of() : specialTokens(tc, config);
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                return Optional.of(new ChatTemplate(jinja.toString(), Files.readString(jinja, StandardCharsets.UTF_8), specials));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + jinja + ": " + e.getMessage(), e);
            }
        }
        if (tc == null || !tc.has("chat_template") || tc.get("chat_template").isJsonNull()) {
            return Optional.empty();
        }
        return Optional.of(new ChatTemplate(config + " chat_template", templateSource(tc.get("chat_template"), config), specials));
    }

    /** A template from a Jinja file, with the special tokens of a model directory (may be null). */
    public static ChatTemplate fromFile(Path file, Path modelDir) {
        Path config = modelDir == null ? null : modelDir.resolve("tokenizer_config.json");
        JsonObject tc = config == null ? null : tokenizerConfig(config);
        Map<String, String> specials = tc == null ? Map.of() : specialTokens(tc, config);
        try {
            return new ChatTemplate(file.toString(), Files.readString(file, StandardCharsets.UTF_8), specials);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read chat template " + file + ": " + e.getMessage(), e);
        }
    }

    /** tokenizer_config.json as an object, or null when the file is not there. */
    private static JsonObject tokenizerConfig(Path config) {
        if (!Files.isRegularFile(config)) {
            return null;
        }
        try {
            return JsonParser.parseString(Files.readString(config, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + config + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(config + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    private static String templateSource(JsonElement t, Path config) {
        if (t.isJsonPrimitive()) {
            return t.getAsString();
        }
        if (t.isJsonArray()) {
            for (JsonElement e : t.getAsJsonArray()) {
                JsonObject o = e.getAsJsonObject();
                if (o.has("name") && "default".equals(o.get("name").getAsString())) {
                    return o.get("template").getAsString();
                }
            }
            throw new IllegalArgumentException(config + ": chat_template lists named templates but none is 'default'");
        }
        throw new IllegalArgumentException(config + ": chat_template must be a string or a list of {name, template}");
    }

    /** Special tokens as strings: tokenizer_config.json writes each as a string or an AddedToken object. */
    private static Map<String, String> specialTokens(JsonObject tc, Path config) {
        Map<String, String> out = new TreeMap<>();
        for (String key : SPECIAL_TOKENS) {
            JsonElement e = tc.get(key);
            if (e == null || e.isJsonNull()) {
                continue;
            }
            if (e.isJsonPrimitive()) {
                out.put(key, e.getAsString());
            } else if (e.isJsonObject() && e.getAsJsonObject().has("content")) {
                out.put(key, e.getAsJsonObject().get("content").getAsString());
            } else {
                throw new IllegalArgumentException(config + ": " + key + " must be a string or {content: ...}");
            }
        }
        return out;
    }

    public String name() {
        return name;
    }

    /** SHA-256 of the template and its special tokens: same hash, same renderings. */
    public String sha256() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(source.getBytes(StandardCharsets.UTF_8));
            new TreeMap<>(specialTokens).forEach((k, v) -> md.update(("|" + k + "=" + v).getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** HF's {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> vars = new LinkedHashMap<>(specialTokens);
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            msgs.add(o);
        }
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r = engine().renderForResult(source, vars);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template " + name + ": " + message(e));
            }
        }
        return r.getOutput();
    }

    /**
     * The whole conversation rendered, with the span of every assistant turn: it starts where the
     * rendering of the turns before it with the generation prompt ends (what the model sees when
     * it is asked to answer) and ends where the next turn's text starts (so the template's
     * end-of-turn marker is a target: the model learns to stop). A template that rewrites earlier
     * turns when later ones follow cannot be split so, and is refused with the turn named.
     */
    public ChatRendering renderForTraining(List<ChatMessage> messages) {
        String whole = render(messages, false);
        List<int[]> spans = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).isAssistant()) {
                continue;
            }
            String before = render(messages.subList(0, i), true);
            if (!whole.startsWith(before)) {
                throw new IllegalArgumentException("chat template " + name + ": the turns before message " + i
                        + " render differently once the conversation goes on, so the assistant turn cannot be located");
            }
            int end = i + 1 == messages.size() ? whole.length() : turnEnd(render(messages.subList(0, i + 1), false), whole);
            if (end <= before.length()) {
                throw new IllegalArgumentException("chat template " + name + ": assistant message " + i
                        + " renders differently when it is the last turn (the template rewrites earlier assistant"
                        + " turns); give single-turn rows or another --chat-template");
            }
            spans.add(new int[] {before.length(), end});
        }
        return new ChatRendering(whole, spans);
    }

    /**
     * Where an assistant turn ends in the whole conversation, given the conversation rendered up to
     * that turn: its length when it is a prefix of the whole, also after dropping an EOS the
     * template appends to a finished conversation (Phi-3 does); else the longest common prefix,
     * which may run into the next turn's first characters (the tokenizer then takes only tokens
     * wholly inside the span).
     */
    private int turnEnd(String upToTurn, String whole) {
        if (whole.startsWith(upToTurn)) {
            return upToTurn.length();
        }
        String eos = specialTokens.get("eos_token");
        if (eos != null && !eos.isEmpty() && upToTurn.endsWith(eos)) {
            String trimmed = upToTurn.substring(0, upToTurn.length() - eos.length());
            if (whole.startsWith(trimmed)) {
                return trimmed.length();
            }
        }
        return commonPrefix(upToTurn, whole);
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    private static String message(TemplateError e) {
        Throwable t = e.getException();
        while (t != null) {
            if (t instanceof TemplateException te) {
                return te.getMessage();
            }
            t = t.getCause();
        }
        return e.getMessage() + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "");
    }

    private Jinjava engine() {
        if (jinjava == null) {
            // Jinja2 as HF runs it: trim_blocks, lstrip_blocks, {{- -}} trimming, Python's operator
            // precedence, iterating a mapping yields its keys
            LegacyOverrides jinja2 = LegacyOverrides.newBuilder()
                    .withUseTrimmingForNotesAndExpressions(true)
                    .withParseWhitespaceControlStrictly(true)
                    .withUseNaturalOperatorPrecedence(true)
                    .withIterateOverMapKeys(true)
                    .withKeepNullableLoopValues(true)
                    .build();
            Jinjava j = new Jinjava(JinjavaConfig.newBuilder()
                    .withTrimBlocks(true)
                    .withLstripBlocks(true)
                    .withLegacyOverrides(jinja2)
                    .build());
            j.getGlobalContext().registerFunction(
                    new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
            jinjava = j;
        }
        return jinjava;
    }

    /** The template's own {@code raise_exception(message)}: the row is refused with that message. */
    public static Object raiseException(String message) {
        throw new TemplateException(message);
    }

    /** What a template raised. */
    static final class TemplateException extends RuntimeException {
        TemplateException(String message) {
            super(message);
        }
    }
}
