package dev.frugal.trainer.checkpoint;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;

/**
 * One tensor's header entry in a safetensors file, already validated.
 *
 * @param name the tensor's name
 * @param dtype its element type
 * @param shape its shape
 * @param begin first byte of its data, relative to the start of the data buffer
 * @param end one past its last byte, relative to the start of the data buffer
 */
public record SafetensorsEntry(String name, DType dtype, Shape shape, long begin, long end) {
    /** Number of data bytes: {@code end - begin}, which equals numel times the dtype size. */
    public long byteLength() {
        return end - begin;
    }
}
