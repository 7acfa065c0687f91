package dev.frugal.trainer.data;

import java.io.IOException;

/**
 * A dataset that is in none of the places searched and could not be downloaded. The message
 * lists every place searched, why each did not qualify, and how to get the data.
 */
public final class DatasetUnavailableException extends IOException {
    /**
     * The dataset cannot be had.
     *
     * @param message the full, user-facing explanation
     * @param cause   the download failure, or null when no download was tried
     */
    public DatasetUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
