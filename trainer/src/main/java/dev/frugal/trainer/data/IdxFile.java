package dev.frugal.trainer.data;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The decoded contents of one IDX file: its element type, its dimensions and its data, held
 * off-heap in one {@link MemorySegment} (row-major, one byte per element). Closing frees the
 * memory; the segment must not be used afterwards.
 */
public final class IdxFile implements AutoCloseable {
    /** IDX type byte for unsigned bytes, the only element type MNIST-family files use. */
    public static final int TYPE_U8 = 0x08;
    /** IDX type byte for signed bytes. */
    public static final int TYPE_I8 = 0x09;

    private final Path source;
    private final int type;
    private final int[] dims;
    private final Arena arena;
    private final MemorySegment data;

    IdxFile(Path source, int type, int[] dims, Arena arena, MemorySegment data) {
        this.source = source;
        this.type = type;
        this.dims = dims.clone();
        this.arena = arena;
        this.data = data;
    }

    /** The file this was read from. */
    public Path source() {
        return source;
    }

    /** The IDX element type byte ({@link #TYPE_U8} or {@link #TYPE_I8}). */
    public int type() {
        return type;
    }

    /** The dimensions, outermost first (a copy). */
    public int[] dims() {
        return dims.clone();
    }

    /** The number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** The size of dimension {@code axis}. */
    public int dim(int axis) {
        return dims[axis];
    }

    /** The element count (product of the dimensions). */
    public long count() {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    /** The elements, row-major, one byte each; valid until {@link #close()}. */
    public MemorySegment data() {
        return data;
    }

    /** Frees the off-heap data. */
    @Override
    public void close() {
        arena.close();
    }

    /** The file name, type and dimensions, for messages. */
    @Override
    public String toString() {
        return "IdxFile[" + source + ", type 0x" + Integer.toHexString(type) + ", dims " + Arrays.toString(dims) + "]";
    }
}
