package org.splitlora.split;

/** A split-protocol frame that cannot be decoded or does not fit the model; answered, never fatal. */
public final class MalformedFrameException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public MalformedFrameException(String message) {
        super(message);
    }
}
