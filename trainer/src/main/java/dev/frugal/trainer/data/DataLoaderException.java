package dev.frugal.trainer.data;

/**
 * A failure in the loader's background thread (loading the dataset or filling a batch),
 * rethrown on the consumer's thread with the original as its cause.
 */
public final class DataLoaderException extends RuntimeException {
    /**
     * Wraps a background-thread failure.
     *
     * @param message what the loader was doing
     * @param cause   the original failure
     */
    public DataLoaderException(String message, Throwable cause) {
        super(message, cause);
    }
}
