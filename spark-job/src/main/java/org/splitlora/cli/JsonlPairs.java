package org.splitlora.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.EncodedRow;
import org.splitlora.datasets.encode.ExampleEncoder;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.source.InputFiles;
import org.splitlora.datasets.source.JsonlStyle;
import org.splitlora.datasets.source.RawExample;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.source.SourceRow;
import org.splitlora.datasets.tokenize.TextTokenizer;

/**
 * {@code eval --format jsonl}: prompt/completion rows read as {@code prepare --format jsonl
 * --jsonl-style prompt-completion} reads them (same reader, same checks), in file order, and
 * encoded as it encodes them ({@link ExampleEncoder}: context, separator, completion, EOS;
 * truncated at the maximum length). The first bad row fails, naming its file and line.
 */
final class JsonlPairs {

    private final List<String> files;
    private final List<SourceRow> rows;

    private JsonlPairs(List<String> files, List<SourceRow> rows) {
        this.files = files;
        this.rows = rows;
    }

    /** The rows of {@code spec} (files, directories or globs, comma-separated; any Hadoop path). */
    static JsonlPairs read(String spec, String promptCol, String completionCol, Configuration conf) {
        SourceOptions options = new SourceOptions(SourceFormat.JSONL, null, JsonlStyle.PROMPT_COMPLETION,
                Map.of("prompt", promptCol, "completion", completionCol), null);
        List<String> files = InputFiles.expand(spec, conf);
        List<SourceRow> rows = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            try (BufferedReader in = InputFiles.open(files.get(i), conf)) {
                Iterator<SourceRow> it = options.reader().read(i, in);
                while (it.hasNext()) {
                    SourceRow r = it.next();
                    if (!r.ok()) {
                        throw new IllegalArgumentException(where(files, r.fileIndex(), r.line()) + ": " + r.problem());
                    }
                    rows.add(r);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(files.get(i) + ": " + e.getMessage(), e);
            }
        }
        return new JsonlPairs(files, rows);
    }

    /** The first {@code max} rows (0 = all) as training encodes them, ids 0, 1, 2, ... */
    List<TokenizedExample> examples(TextTokenizer tokenizer, int maxLength, int max) {
        ExampleEncoder encoder = new ExampleEncoder(tokenizer, maxLength, OverlongPolicy.TRUNCATE, BadRowPolicy.FAIL, null);
        List<TokenizedExample> out = new ArrayList<>();
        for (SourceRow r : rows) {
            if (max > 0 && out.size() >= max) {
                break;
            }
            EncodedRow e = encoder.encode(out.size(), r);
            if (!e.ok()) {
                throw new IllegalArgumentException(where(files, e.fileIndex(), e.line()) + ": " + e.problem());
            }
            out.add(new TokenizedExample(e.exampleId(), e.inputIds(), e.lossMask()));
        }
        return out;
    }

    /** The completions grouped by identical prompt, prompts in order of first appearance. */
    Map<String, List<String>> completionsByPrompt() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (SourceRow r : rows) {
            RawExample ex = r.example();
            out.computeIfAbsent(ex.prompt(), k -> new ArrayList<>()).add(ex.completion().strip());
        }
        return out;
    }

    private static String where(List<String> files, int fileIndex, long line) {
        return line > 0 ? files.get(fileIndex) + ":" + line : files.get(fileIndex);
    }
}
