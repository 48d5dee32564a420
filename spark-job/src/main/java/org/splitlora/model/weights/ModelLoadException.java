package org.splitlora.model.weights;

/** A model directory, config or weight file that cannot be used; the message names the file/tensor. */
public class ModelLoadException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
