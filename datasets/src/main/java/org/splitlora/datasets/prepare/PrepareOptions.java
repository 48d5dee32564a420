package org.splitlora.datasets.prepare;

import org.splitlora.datasets.chat.ChatTemplate;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.partition.PartitionSpec;
import org.splitlora.datasets.source.SourceOptions;

/**
 * Everything {@code prepare} needs, validated on construction; errors name the option.
 *
 * @param input training source: comma-separated files, directories or globs on any Hadoop
 *     filesystem (gzip and other Hadoop codecs by extension)
 * @param validInput validation source in the same format, or null to hold out
 *     {@code validFraction} of the training source
 * @param testInput test source, or null
 * @param parallelism tokenization partitions; 0 = Spark's default parallelism
 * @param chatTemplate renders chat rows; null: the plain {@code role: content} layout
 */
public record PrepareOptions(
        String input,
        String validInput,
        String testInput,
        SourceOptions source,
        int maxLength,
        OverlongPolicy overlong,
        BadRowPolicy badRows,
        PartitionSpec partition,
        double validFraction,
        String out,
        boolean overwrite,
        int parallelism,
        ChatTemplate chatTemplate) {

    public PrepareOptions {
        if (input == null || input.isBlank()) {
            throw new IllegalArgumentException("input: must name at least one file");
        }
        if (source == null || partition == null || overlong == null || badRows == null) {
            throw new IllegalArgumentException("format, partition and policies must be set");
        }
        if (maxLength < 2) {
            throw new IllegalArgumentException("max-length: must be ≥ 2, got " + maxLength);
        }
        if (!(validFraction >= 0 && validFraction < 1)) {
            throw new IllegalArgumentException("valid-fraction: must be in [0, 1), got " + validFraction);
        }
        if (validInput != null && validFraction > 0) {
            throw new IllegalArgumentException("valid-fraction: give either valid-input or valid-fraction, not both");
        }
        if (out == null || out.isBlank()) {
            throw new IllegalArgumentException("out: must be set");
        }
        if (parallelism < 0) {
            throw new IllegalArgumentException("parallelism: must be ≥ 0, got " + parallelism);
        }
    }

    public static final int DEFAULT_MAX_LENGTH = 512;

    public static Builder builder(String input, SourceOptions source, PartitionSpec partition, String out) {
        return new Builder(input, source, partition, out);
    }

    /** Defaults: max length 512, truncate overlong rows, fail on bad rows, no held-out split. */
    public static final class Builder {
        private final String input;
        private final SourceOptions source;
        private final PartitionSpec partition;
        private final String out;
        private String validInput;
        private String testInput;
        private int maxLength = DEFAULT_MAX_LENGTH;
        private OverlongPolicy overlong = OverlongPolicy.TRUNCATE;
        private BadRowPolicy badRows = BadRowPolicy.FAIL;
        private double validFraction;
        private boolean overwrite;
        private int parallelism;
        private ChatTemplate chatTemplate;

        private Builder(String input, SourceOptions source, PartitionSpec partition, String out) {
            this.input = input;
            this.source = source;
            this.partition = partition;
            this.out = out;
        }

        public Builder validInput(String v) {
            validInput = v;
            return this;
        }

        public Builder testInput(String v) {
            testInput = v;
            return this;
        }

        public Builder maxLength(int v) {
            maxLength = v;
            return this;
        }

        public Builder overlong(OverlongPolicy v) {
            overlong = v;
            return this;
        }

        public Builder badRows(BadRowPolicy v) {
            badRows = v;
            return this;
        }

        public Builder validFraction(double v) {
            validFraction = v;
            return this;
        }

        public Builder overwrite(boolean v) {
            overwrite = v;
            return this;
        }

        public Builder parallelism(int v) {
            parallelism = v;
            return this;
        }

        public Builder chatTemplate(ChatTemplate v) {
            chatTemplate = v;
            return this;
        }

        public PrepareOptions build() {
            return new PrepareOptions(input, validInput, testInput, source, maxLength, overlong, badRows, partition,
                    validFraction, out, overwrite, parallelism, chatTemplate);
        }
    }
}
