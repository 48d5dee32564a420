package org.splitlora.datasets.source;

import java.util.Iterator;
import java.util.NoSuchElementException;

/** A lazy iterator over rows: subclasses compute the next row, or null at the end. */
abstract class RowIterator implements Iterator<SourceRow> {

    private SourceRow next;
    private boolean done;

    /** The next row, or null when the file is exhausted (or a fatal row ended it). */
    protected abstract SourceRow computeNext();

    @Override
    public final boolean hasNext() {
        if (next == null && !done) {
            next = computeNext();
            done = next == null;
        }
        return next != null;
    }

    @Override
    public final SourceRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        SourceRow r = next;
        next = null;
        if (r.fatal()) {
            done = true;
        }
        return r;
    }
}
