package dev.frugal.trainer.checkpoint;

import java.nio.file.Path;

/**
 * A complete checkpoint on disk, as listed by {@link CheckpointStore#list()}.
 *
 * @param step the step it was saved at
 * @param directory its directory, {@code checkpoint-<step>} under the store's root
 */
public record StoredCheckpoint(long step, Path directory) {
}
