package dev.frugal.trainer.config;

/**
 * A configuration that cannot be used: an unknown key, a value of the wrong type or out of range,
 * or a configuration file that does not parse. The message names the file (when there is one),
 * the key and what is valid, and is meant to be shown to the user as it is.
 */
public final class ConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong and what would be valid
     */
    public ConfigException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong and what would be valid
     * @param cause the parser's error
     */
    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
