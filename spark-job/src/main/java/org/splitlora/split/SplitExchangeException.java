package org.splitlora.split;

/** The split exchange failed for a client: refused, malformed, timed out or disconnected. */
public final class SplitExchangeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SplitExchangeException(String message, Throwable cause) {
        super(message, cause);
    }
}
