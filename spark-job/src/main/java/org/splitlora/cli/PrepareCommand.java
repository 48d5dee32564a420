package org.splitlora.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.partition.PartitionMethod;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.prepare.DatasetPreparer;
import org.splitlora.datasets.prepare.PrepareOptions;
import org.splitlora.datasets.prepare.SummaryTable;
import org.splitlora.datasets.source.JsonlStyle;
import org.splitlora.datasets.source.SourceFormat;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.source.TextMode;
import org.splitlora.model.ModelSource;
import org.splitlora.report.progress.Progress;
import org.splitlora.report.progress.SparkTaskProgress;
import org.splitlora.datasets.chat.ChatTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "prepare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Raw data to tokenized Parquet shards, one per client: reads E2E CSV, JSONL or text "
                + "(any Hadoop path, gzip accepted), tokenizes with the model's tokenizer on Spark, holds out "
                + "a validation split, partitions the rest over the clients, and writes train/client_id=N/, "
                + "valid/, test/ and manifest.json to --out (all or nothing).")
final class PrepareCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "F",
            description = "Training data: files, directories or globs, comma-separated (local, hdfs://, s3a://; .gz ok).")
    String input;

    @Option(names = "--format", required = true, paramLabel = "e2e|jsonl|text",
            description = "e2e: CSV with mr,ref; jsonl: one object a line; text: plain text.")
    SourceFormat format;

    @Option(names = "--tokenizer", required = true, paramLabel = "MODEL",
            description = "Model whose tokenizer to use: an HF model directory or builtin:tiny-gpt2.")
    String tokenizer;

    @Option(names = "--clients", required = true, paramLabel = "N",
            description = "Number of clients (partition label: the number of distinct labels).")
    int clients;

    @Option(names = "--partition", defaultValue = "iid", paramLabel = "iid|dirichlet|length-dirichlet|label",
            description = "How to spread examples over clients; label: each distinct --label-field value is a client "
                    + "(default: ${DEFAULT-VALUE}).")
    PartitionMethod partition;

    @Option(names = "--alpha", defaultValue = "0.5", paramLabel = "A",
            description = "Dirichlet concentration: 0.1 strongly non-IID, 100 nearly IID (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--buckets", defaultValue = "10", paramLabel = "K",
            description = "length-dirichlet: length quantile buckets (default: ${DEFAULT-VALUE}).")
    int buckets;

    @Option(names = "--label-field", paramLabel = "F",
            description = "dirichlet: the class label, label: the client; e2e: an MR attribute (e.g. eatType), "
                    + "jsonl: a top-level field.")
    String labelField;

    @Option(names = "--min-examples", defaultValue = "1", paramLabel = "M",
            description = "Every client gets at least M examples; Dirichlet partitions are re-drawn until so "
                    + "(default: ${DEFAULT-VALUE}).")
    int minExamples;

    @Option(names = "--max-draws", defaultValue = "1000", paramLabel = "D",
            description = "Re-draws allowed before giving up on --min-examples (default: ${DEFAULT-VALUE}).")
    int maxDraws;

    @Option(names = "--seed", defaultValue = "42",
            description = "Seed of the validation hold-out and the partition (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", defaultValue = "512", paramLabel = "L",
            description = "Maximum tokens per example (packed text: the block length) (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--overlong", defaultValue = "truncate", paramLabel = "truncate|skip|fail",
            description = "Rows longer than --max-length (default: ${DEFAULT-VALUE}).")
    OverlongPolicy overlong;

    @Option(names = "--on-bad-row", defaultValue = "fail", paramLabel = "fail|skip",
            description = "Unreadable rows (invalid JSON, missing field...): stop, or count and drop "
                    + "(default: ${DEFAULT-VALUE}).")
    BadRowPolicy badRows;

    @Option(names = "--valid-input", paramLabel = "F",
            description = "Validation data in the same format (e.g. the E2E devset).")
    String validInput;

    @Option(names = "--valid-fraction", paramLabel = "X",
            description = "Fraction of the training data held out for validation (default: 0.05, or 0 with --valid-input).")
    Double validFraction;

    @Option(names = "--test-input", paramLabel = "F",
            description = "Test data in the same format.")
    String testInput;

    @Option(names = "--jsonl-style", defaultValue = "auto", paramLabel = "STYLE",
            description = "auto, prompt-completion, alpaca, chat or text (default: ${DEFAULT-VALUE}).")
    JsonlStyle jsonlStyle;

    @Option(names = "--field", paramLabel = "ROLE=NAME",
            description = "JSONL field names, e.g. --field prompt=question --field completion=answer "
                    + "(roles: prompt, completion, instruction, input, output, messages, text).")
    Map<String, String> fields;

    @Option(names = "--chat-template", paramLabel = "model|none|FILE",
            description = "JSONL chat rows (messages): model renders them with the tokenizer model's chat_template "
                    + "(chat_template.jinja or tokenizer_config.json, as HF's apply_chat_template; loss on every assistant "
                    + "turn), FILE with that Jinja file, none as 'role: content' lines with the loss on the last assistant "
                    + "message (default: model when the model has a template, else none).")
    String chatTemplate;

    @Option(names = "--text-mode", defaultValue = "lines", paramLabel = "lines|packed",
            description = "text: one example a line, or lines packed into --max-length blocks (default: ${DEFAULT-VALUE}).")
    TextMode textMode;

    @Option(names = "--parallelism", defaultValue = "0", paramLabel = "P",
            description = "Tokenization tasks (default: Spark's default parallelism).")
    int parallelism;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master (default: local[*], or spark-submit's).")
    String master;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory (any Hadoop path).")
    String out;

    @Option(names = "--overwrite",
            description = "Replace an existing output directory (only once the new one is complete).")
    boolean overwrite;

    @Override
    public Integer call() throws IOException {
        double fraction = validFraction != null ? validFraction : validInput != null ? 0.0 : 0.05;
        PrepareOptions options = PrepareOptions.builder(
                        input,
                        new SourceOptions(format, labelField, jsonlStyle, fields, textMode),
                        new PartitionSpec(partition, clients, alpha, buckets, minExamples, maxDraws, seed),
                        out)
                .validInput(validInput)
                .testInput(testInput)
                .maxLength(maxLength)
                .overlong(overlong)
                .badRows(badRows)
                .validFraction(fraction)
                .overwrite(overwrite)
                .parallelism(parallelism)
                .chatTemplate(format == SourceFormat.JSONL ? chatTemplate(ModelSource.of(tokenizer)) : null)
                .build();
        var tokenizerSpec = ModelSource.of(tokenizer).tokenizerSpec();
        PrintWriter stdout = spec.commandLine().getOut();
        try (SparkSessions.Session session = SparkSessions.open("splitlora prepare", master)) {
            SparkSession spark = session.spark();
            DatasetPreparer.Result r;
            try (SparkTaskProgress ignored = SparkTaskProgress.attach(spark.sparkContext(),
                    Progress.start(System.err, "prepare: Spark tasks", 0))) {
                r = new DatasetPreparer(spark).run(options, tokenizerSpec);
            }
            stdout.print(SummaryTable.render(r.manifest()));
            stdout.printf("wrote %s: %d records read in %.1f s (%.0f rows/s), content hash %s%n",
                    r.out(), r.recordsRead(), r.seconds(), r.recordsPerSecond(), r.manifest().contentHash.substring(0, 16));
        }
        return 0;
    }

    private ChatTemplate chatTemplate(ModelSource model) {
        Path dir = model.directory();
        if (chatTemplate == null || chatTemplate.equals("model")) {
            Optional<ChatTemplate> own = dir == null ? Optional.empty() : ChatTemplate.fromModelDir(dir);
            if (own.isEmpty() && chatTemplate != null) {
                throw new IllegalArgumentException("--chat-template model: " + model.spec()
                        + " has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json)");
            }
            return own.orElse(null);
        }
        if (chatTemplate.equals("none")) {
            return null;
        }
        Path file = Path.of(chatTemplate);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--chat-template: no such file " + file + " (expected model, none or a Jinja file)");
        }
        return ChatTemplate.fromFile(file, dir);
    }
}
