package org.splitlora.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The configuration reference of {@code train --conf}: every key of {@link TrainConfig}'s
 * defaults with its type, default and meaning (the comment right above the key), as a Markdown
 * table. The README's reference is this output; ConfigReferenceTest checks each stated type
 * against what the loader accepts.
 */
public final class ConfigReference {

    private static final Pattern DURATION = Pattern.compile("\\d+\\s*(ms|s|m|h|d)");
    /** A comment's leading type tag, for defaults whose text does not tell the type. */
    private static final Pattern TAG = Pattern.compile("^\\[(double|size)]\\s*");

    private ConfigReference() {}

    /** A documented key: its full path, type, default (HOCON) and meaning. */
    public record Entry(String key, String type, String defaultValue, String meaning) {}

    /** Every key and section of the defaults, in file order. */
    public static List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        walk("", TrainConfig.defaults().root(), out);
        return out;
    }

    public static String markdown() {
        StringBuilder b = new StringBuilder("| key | type | default | meaning |\n|---|---|---|---|\n");
        for (Entry e : entries()) {
            b.append("| `").append(e.key()).append("` | ").append(e.type()).append(" | ")
                    .append(e.defaultValue().isEmpty() ? "" : "`" + cell(e.defaultValue()) + "`").append(" | ")
                    .append(cell(e.meaning())).append(" |\n");
        }
        return b.toString();
    }

    private static void walk(String prefix, ConfigObject object, List<Entry> out) {
        List<Map.Entry<String, ConfigValue>> fields = new ArrayList<>(object.entrySet());
        fields.sort(Comparator.comparingInt(f -> f.getValue().origin().lineNumber()));
        for (Map.Entry<String, ConfigValue> f : fields) {
            String key = prefix + f.getKey();
            ConfigValue v = f.getValue();
            String meaning = String.join(" ", v.origin().comments().stream().map(String::strip).toList());
            if (v instanceof ConfigObject child) {
                if (!meaning.isEmpty()) {
                    out.add(new Entry(key + ".*", "section", "", meaning));
                }
                walk(key + ".", child, out);
            } else {
                Matcher tag = TAG.matcher(meaning);
                boolean tagged = tag.find();
                String type = tagged ? tag.group(1) : type(v);
                out.add(new Entry(key, type, render(v, type), tagged ? meaning.substring(tag.end()) : meaning));
            }
        }
    }

    private static String type(ConfigValue v) {
        return switch (v.valueType()) {
            case BOOLEAN -> "boolean";
            case NUMBER -> v.unwrapped() instanceof Integer || v.unwrapped() instanceof Long ? "int" : "double";
            case LIST -> "list";
            case STRING -> {
                String s = (String) v.unwrapped();
                yield DURATION.matcher(s).matches() ? "duration" : "string";
            }
            default -> v.valueType().name().toLowerCase(Locale.ROOT);
        };
    }

    private static String render(ConfigValue v, String type) {
        if (type.equals("double")) {
            String plain = new BigDecimal(v.unwrapped().toString()).stripTrailingZeros().toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        return v.render(ConfigRenderOptions.concise());
    }

    /** Markdown table cells: a pipe would end the cell. */
    private static String cell(String s) {
        return s.replace("|", "\\|");
    }
}
