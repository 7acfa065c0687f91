/**
 * Checkpoints: saving and loading tensors so that training can stop and continue without losing
 * anything.
 *
 * <ul>
 *   <li>{@link dev.frugal.trainer.checkpoint.SafetensorsWriter} and
 *       {@link dev.frugal.trainer.checkpoint.SafetensorsReader} implement the safetensors format
 *       by hand over {@code MemorySegment}; files are byte-identical to the reference
 *       implementation's for the same tensor order and readable by Python's safetensors and
 *       PyTorch. The reader validates every header field before it touches data, so a corrupt or
 *       hostile file gives a {@link dev.frugal.trainer.checkpoint.SafetensorsFormatException}
 *       naming the file, the tensor and what was expected, and never makes it allocate more than
 *       the file's size.</li>
 *   <li>{@link dev.frugal.trainer.checkpoint.AtomicFiles} replaces files crash-safely (temporary
 *       file, fsync, atomic rename, directory fsync).</li>
 *   <li>{@link dev.frugal.trainer.checkpoint.CheckpointStore} keeps
 *       {@link dev.frugal.trainer.checkpoint.Checkpoint}s (weights, optimizer state, step, epoch,
 *       RNG state, metadata) as {@code checkpoint-<step>} directories that appear only once
 *       complete.</li>
 * </ul>
 */
package dev.frugal.trainer.checkpoint;
