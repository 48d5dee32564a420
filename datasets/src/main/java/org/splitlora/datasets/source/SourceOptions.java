package org.splitlora.datasets.source;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How to read a source: its format, the label used by the Dirichlet partitioner, and the
 * format's own settings. Validated on construction.
 *
 * @param labelField E2E: a meaning-representation attribute (e.g. {@code eatType}); JSONL: a
 *     top-level field; null for none
 * @param fields JSONL field names by role (prompt, completion, instruction, input, output,
 *     messages, text), defaults for roles not given
 */
public record SourceOptions(
        SourceFormat format, String labelField, JsonlStyle jsonlStyle, Map<String, String> fields, TextMode textMode)
        implements Serializable {

    public static final Set<String> FIELD_ROLES =
            Set.of("prompt", "completion", "instruction", "input", "output", "messages", "text");

    public SourceOptions {
        if (format == null) {
            throw new IllegalArgumentException("format must be set");
        }
        if (format == SourceFormat.TEXT && labelField != null) {
            throw new IllegalArgumentException("label-field: plain text has no fields to take a label from");
        }
        Map<String, String> all = new LinkedHashMap<>();
        for (String role : new String[] {"prompt", "completion", "instruction", "input", "output", "messages", "text"}) {
            all.put(role, role);
        }
        if (fields != null) {
            for (Map.Entry<String, String> e : fields.entrySet()) {
                if (!FIELD_ROLES.contains(e.getKey())) {
                    throw new IllegalArgumentException(
                            "field: unknown role '" + e.getKey() + "' (expected one of " + FIELD_ROLES + ")");
                }
                if (e.getValue() == null || e.getValue().isBlank()) {
                    throw new IllegalArgumentException("field: empty field name for role '" + e.getKey() + "'");
                }
                all.put(e.getKey(), e.getValue());
            }
        }
        fields = Map.copyOf(all);
        jsonlStyle = jsonlStyle == null ? JsonlStyle.AUTO : jsonlStyle;
        textMode = textMode == null ? TextMode.LINES : textMode;
    }

    public static SourceOptions of(SourceFormat format) {
        return new SourceOptions(format, null, null, null, null);
    }

    public boolean packed() {
        return format == SourceFormat.TEXT && textMode == TextMode.PACKED;
    }

    public RecordReader reader() {
        return switch (format) {
            case E2E -> new E2ECsvReader(labelField);
            case JSONL -> new JsonlReader(jsonlStyle, fields, labelField);
            case TEXT -> new TextLineReader();
        };
    }
}
