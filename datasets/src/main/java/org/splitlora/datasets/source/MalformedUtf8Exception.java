package org.splitlora.datasets.source;

import java.nio.charset.CharacterCodingException;

/** A byte that is not valid UTF-8, with the (1-based, LF-counted) line it is on. */
final class MalformedUtf8Exception extends CharacterCodingException {

    private final long line;
    private final int badByte;

    MalformedUtf8Exception(long line, int badByte) {
        this.line = line;
        this.badByte = badByte;
    }

    long line() {
        return line;
    }

    @Override
    public String getMessage() {
        return String.format("not valid UTF-8 text (byte 0x%02X)", badByte);
    }
}
