package org.splitlora.datasets.prepare;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;
import org.splitlora.datasets.encode.BadRowPolicy;
import org.splitlora.datasets.encode.EncodedRow;
import org.splitlora.datasets.chat.ChatTemplate;
import org.splitlora.datasets.encode.ExampleEncoder;
import org.splitlora.datasets.encode.OverlongPolicy;
import org.splitlora.datasets.encode.TextPacker;
import org.splitlora.datasets.source.InputFiles;
import org.splitlora.datasets.source.SourceOptions;
import org.splitlora.datasets.source.SourceRow;
import org.splitlora.datasets.tokenize.TextTokenizer;
import org.splitlora.datasets.tokenize.TokenizerSpec;
import scala.Tuple2;

/**
 * Reads and tokenizes one source (the train, valid or test files) with Spark. Each file is parsed
 * by one task, streaming, so errors keep their file and line; rows are numbered in file order
 * (the example id is that number plus {@code idOffset}, stable whatever the policies reject), then
 * spread over {@code parallelism} tasks for tokenization. Packed text is tokenized and packed in
 * its file's task, since packing follows the file order.
 */
final class SourceEncoding {

    /**
     * The encoded rows (persisted once first computed) and the tokens packing dropped (known once
     * the rows have been computed).
     */
    record Encoded(JavaRDD<SourceRow> parsed, JavaRDD<EncodedRow> rows, LongAccumulator dropped) {
        long droppedTailTokens() {
            return dropped.value();
        }

        /** Once the rows are computed (and cached) the parsed rows are no longer needed. */
        void releaseParsed() {
            parsed.unpersist(false);
        }

        void release() {
            parsed.unpersist(false);
            rows.unpersist(false);
        }
    }

    /** Orders problems by where they occur. */
    static final Comparator<EncodedRow> BY_POSITION = (Comparator<EncodedRow> & Serializable)
            (a, b) -> a.fileIndex() != b.fileIndex()
                    ? Integer.compare(a.fileIndex(), b.fileIndex())
                    : Long.compare(a.line(), b.line());

    private SourceEncoding() {}

    static Encoded encode(
            JavaSparkContext jsc, List<String> files, SourceOptions source, TokenizerSpec tokenizer,
            int maxLength, OverlongPolicy overlong, BadRowPolicy badRows, ChatTemplate chatTemplate, long idOffset,
            int parallelism) {
        Broadcast<SerializableConfiguration> conf =
                jsc.broadcast(new SerializableConfiguration(jsc.hadoopConfiguration()));
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            indices.add(i);
        }
        List<String> paths = List.copyOf(files);
        JavaRDD<SourceRow> parsed = jsc.parallelize(indices, files.size())
                .flatMap(i -> readFile(paths, i, source, conf.value()));
        JavaRDD<EncodedRow> rows;
        LongAccumulator dropped = jsc.sc().longAccumulator("dropped tail tokens");
        if (source.packed()) {
            rows = parsed.mapPartitions(it -> pack(it, tokenizer, maxLength, badRows, dropped))
                    .zipWithIndex()
                    .map(t -> t._1().withId(t._2() + idOffset));
        } else {
            parsed.persist(StorageLevel.MEMORY_AND_DISK()); // zipWithIndex reads it twice
            rows = parsed.zipWithIndex()
                    .repartition(parallelism)
                    .mapPartitions(it -> encode(it, tokenizer, maxLength, overlong, badRows, chatTemplate, idOffset));
        }
        rows.persist(StorageLevel.MEMORY_AND_DISK());
        return new Encoded(parsed, rows, dropped);
    }

    private static Iterator<SourceRow> readFile(
            List<String> files, int index, SourceOptions source, SerializableConfiguration conf) {
        BufferedReader in;
        try {
            in = InputFiles.open(files.get(index), conf.value());
        } catch (IOException e) {
            return Collections.singletonList(SourceRow.fatal(index, 0, "cannot open: " + e.getMessage())).iterator();
        }
        closeWithTask(in);
        return source.reader().read(index, in);
    }

    private static Iterator<EncodedRow> encode(
            Iterator<Tuple2<SourceRow, Long>> rows, TokenizerSpec spec, int maxLength, OverlongPolicy overlong,
            BadRowPolicy badRows, ChatTemplate chatTemplate, long idOffset) {
        TextTokenizer tokenizer = spec.create();
        closeWithTask(tokenizer);
        ExampleEncoder encoder = new ExampleEncoder(tokenizer, maxLength, overlong, badRows, chatTemplate);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public EncodedRow next() {
                Tuple2<SourceRow, Long> t = rows.next();
                return encoder.encode(t._2() + idOffset, t._1());
            }
        };
    }

    private static Iterator<EncodedRow> pack(
            Iterator<SourceRow> rows, TokenizerSpec spec, int blockLength, BadRowPolicy badRows, LongAccumulator dropped) {
        TextTokenizer tokenizer = spec.create();
        closeWithTask(tokenizer);
        TextPacker packer = new TextPacker(rows, tokenizer, blockLength, badRows);
        TaskContext.get().addTaskCompletionListener((TaskCompletionListener) ctx -> dropped.add(packer.droppedTailTokens()));
        return packer;
    }

    private static void closeWithTask(AutoCloseable c) {
        TaskContext.get().addTaskCompletionListener((TaskCompletionListener) ctx -> {
            try {
                c.close();
            } catch (Exception e) {
                throw new UncheckedIOException(new IOException("close failed: " + e.getMessage(), e));
            }
        });
    }
}
