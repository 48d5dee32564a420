package org.splitlora.config;

/** A run configuration that cannot be used; the message names the file and key. */
public final class ConfigError extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public ConfigError(String message) {
        super(message);
    }
}
