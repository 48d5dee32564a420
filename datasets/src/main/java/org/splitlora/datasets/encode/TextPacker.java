package org.splitlora.datasets.encode;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.splitlora.datasets.source.SourceRow;
import org.splitlora.datasets.tokenize.TextTokenizer;

/**
 * Packs one file's text lines into blocks of exactly {@code blockLength} tokens: every line is
 * tokenized (with the tokenizer's special tokens) and followed by EOS, the stream is cut into
 * blocks, and the tail shorter than a block is dropped ({@link #droppedTailTokens()}). A block
 * reports the line it starts in. Problems from the reader pass through. Example ids are left 0:
 * they are assigned after packing, in file order.
 */
public final class TextPacker implements Iterator<EncodedRow> {

    private final Iterator<SourceRow> rows;
    private final TextTokenizer tokenizer;
    private final int blockLength;
    private final BadRowPolicy badRows;
    private final Deque<EncodedRow> ready = new ArrayDeque<>();
    private int[] buffer;
    private int filled;
    private long blockStartLine;
    private int fileIndex;
    private long droppedTail;

    public TextPacker(Iterator<SourceRow> rows, TextTokenizer tokenizer, int blockLength, BadRowPolicy badRows) {
        this.rows = rows;
        this.badRows = badRows;
        this.tokenizer = tokenizer;
        this.blockLength = blockLength;
        this.buffer = new int[blockLength];
    }

    @Override
    public boolean hasNext() {
        while (ready.isEmpty() && rows.hasNext()) {
            SourceRow row = rows.next();
            fileIndex = row.fileIndex();
            if (!row.ok()) {
                ready.add(EncodedRow.problem(
                        0, row.fileIndex(), row.line(), row.problem(), row.fatal() || badRows == BadRowPolicy.FAIL));
                continue;
            }
            int[] ids = tokenizer.encode(row.example().completion(), true);
            append(ids, row.line());
            append(new int[] {tokenizer.eosTokenId()}, row.line());
        }
        if (ready.isEmpty() && filled > 0) {
            droppedTail += filled;
            filled = 0;
        }
        return !ready.isEmpty();
    }

    private void append(int[] ids, long line) {
        int i = 0;
        while (i < ids.length) {
            if (filled == 0) {
                blockStartLine = line;
            }
            int n = Math.min(ids.length - i, blockLength - filled);
            System.arraycopy(ids, i, buffer, filled, n);
            filled += n;
            i += n;
            if (filled == blockLength) {
                byte[] mask = new byte[blockLength];
                Arrays.fill(mask, (byte) 1);
                ready.add(new EncodedRow(0, fileIndex, blockStartLine, buffer, mask, null, false, null, false));
                buffer = new int[blockLength];
                filled = 0;
            }
        }
    }

    @Override
    public EncodedRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return ready.poll();
    }

    /** Tokens left over after the last full block (known once the iterator is exhausted). */
    public long droppedTailTokens() {
        return droppedTail;
    }
}
