package org.splitlora.datasets.source;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 decoding that knows which line a malformed byte is on. An InputStreamReader
 * decodes far ahead of the lines its readers have taken (and drops what it decoded when it meets
 * the bad byte), so its error cannot say where the byte was; this one counts the line feeds it
 * has decoded and throws {@link MalformedUtf8Exception} with the line.
 */
final class Utf8Reader extends Reader {

    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteBuffer bytes = ByteBuffer.allocate(1 << 16).flip();
    private boolean eof;
    private boolean flushed;
    /** The line the next decoded character is on. */
    private long line = 1;

    Utf8Reader(InputStream in) {
        this.in = in;
    }

    @Override
    public int read(char[] buf, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        CharBuffer out = CharBuffer.wrap(buf, off, len);
        while (out.position() == off && !flushed) {
            CoderResult r = decoder.decode(bytes, out, eof);
            if (r.isError()) {
                throw new MalformedUtf8Exception(line + lineFeeds(buf, off, out.position()),
                        bytes.get(bytes.position()) & 0xFF);
            }
            if (r.isOverflow()) {
                break;
            }
            if (eof) {
                decoder.flush(out);
                flushed = true;
            } else {
                fill();
            }
        }
        int n = out.position() - off;
        line += lineFeeds(buf, off, out.position());
        return n == 0 ? -1 : n;
    }

    private void fill() throws IOException {
        bytes.compact();
        int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
        if (n < 0) {
            eof = true;
        } else {
            bytes.position(bytes.position() + n);
        }
        bytes.flip();
    }

    private static long lineFeeds(char[] buf, int from, int to) {
        long n = 0;
        for (int i = from; i < to; i++) {
            if (buf[i] == '\n') {
                n++;
            }
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
