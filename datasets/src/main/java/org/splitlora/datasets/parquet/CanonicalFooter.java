package org.splitlora.datasets.parquet;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnMetaData;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.PageEncodingStats;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.Util;

/**
 * Copies a Parquet file with its footer in canonical form. parquet-mr 1.13 (Spark 3.5's) lists
 * each column chunk's encodings in {@code HashSet} order, and enum hash codes differ from JVM to
 * JVM, so the same rows written twice give different bytes. Sorting those lists (through the
 * format's own Thrift structures) makes the file a function of its data alone. Data pages are
 * copied unchanged; only the footer after them is rewritten.
 */
final class CanonicalFooter {

    private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);

    private CanonicalFooter() {}

    static void copy(FileSystem fs, Path src, Path dst) throws IOException {
        long length = fs.getFileStatus(src).getLen();
        byte[] tail = new byte[8];
        FileMetaData footer;
        long footerStart;
        try (FSDataInputStream in = fs.open(src)) {
            in.readFully(length - 8, tail);
            int footerLength = ByteBuffer.wrap(tail, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (!Arrays.equals(tail, 4, 8, MAGIC, 0, 4) || footerLength <= 0 || footerLength > length - 12) {
                throw new IOException(src + ": not a Parquet file");
            }
            footerStart = length - 8 - footerLength;
            byte[] bytes = new byte[footerLength];
            in.readFully(footerStart, bytes);
            footer = Util.readFileMetaData(new ByteArrayInputStream(bytes));
        }
        for (RowGroup rg : footer.getRow_groups()) {
            for (ColumnChunk cc : rg.getColumns()) {
                ColumnMetaData md = cc.getMeta_data();
                if (md == null) {
                    continue;
                }
                md.getEncodings().sort(Comparator.comparingInt(e -> e.getValue()));
                if (md.isSetEncoding_stats()) {
                    md.getEncoding_stats().sort(Comparator
                            .comparingInt((PageEncodingStats s) -> s.getPage_type().getValue())
                            .thenComparingInt(s -> s.getEncoding().getValue()));
                }
            }
        }
        ByteArrayOutputStream newFooter = new ByteArrayOutputStream();
        Util.writeFileMetaData(footer, newFooter);
        try (InputStream in = fs.open(src); OutputStream out = fs.create(dst, false)) {
            copyExactly(in, out, footerStart);
            newFooter.writeTo(out);
            out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(newFooter.size()).array());
            out.write(MAGIC);
        }
    }

    private static void copyExactly(InputStream in, OutputStream out, long n) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = n;
        while (left > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) {
                throw new IOException("file ended " + left + " bytes early");
            }
            out.write(buf, 0, r);
            left -= r;
        }
    }
}
