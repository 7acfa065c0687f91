package dev.frugal.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A strided n-dimensional array of one {@link DType}, stored off-heap in a {@link MemorySegment}.
 *
 * <p>A tensor either owns its storage (made by a factory method; {@link #close()} frees it) or
 * is a view sharing another tensor's storage ({@link #permute}, {@link #slice}, {@link #expand},
 * {@link #reshape}): closing the owner invalidates its views, and any use of a closed tensor
 * throws {@link IllegalStateException}. Offsets and strides are in elements. A stride may be 0
 * (a broadcast view).
 *
 * <p>The eager accessors ({@link #getDouble(long...)}, {@link #toFloatArray()}, ...) are
 * conveniences for tests, printing and data loading; programs never use them in the hot path.
 */
public final class Tensor implements AutoCloseable {
    /** Shared storage: one segment, freed once. */
    private static final class Storage {
        final MemorySegment segment;
        final Arena arena; // null when the memory belongs to someone else
        final AtomicBoolean closed = new AtomicBoolean();
        final String label;

        Storage(MemorySegment segment, Arena arena, String label) {
            this.segment = segment;
            this.arena = arena;
            this.label = label;
        }
    }

    private final Storage storage;
    private final Shape shape;
    private final DType dtype;
    private final long[] strides;
    private final long offset;
    private final boolean owner;

    private Tensor(Storage storage, Shape shape, DType dtype, long[] strides, long offset, boolean owner) {
        this.storage = storage;
        this.shape = shape;
        this.dtype = dtype;
        this.strides = strides;
        this.offset = offset;
        this.owner = owner;
    }

    // ---------------------------------------------------------------- factories

    /** A new zero-filled contiguous tensor that owns its off-heap memory. */
    public static Tensor zeros(Shape shape, DType dtype) {
        Arena arena = Arena.ofShared();
        long bytes = Math.max(1, shape.numel() * dtype.byteSize());
        MemorySegment seg = arena.allocate(bytes, 64);
        return new Tensor(new Storage(seg, arena, null), shape, dtype, shape.contiguousStrides(), 0, true);
    }

    /** A new contiguous tensor filled with {@code value}. */
    public static Tensor full(Shape shape, DType dtype, double value) {
        Tensor t = zeros(shape, dtype);
        long n = shape.numel();
        for (long i = 0; i < n; i++) {
            Elements.set(t.storage.segment, dtype, i, value);
        }
        return t;
    }

    /** A 0-dimensional tensor holding one value. */
    public static Tensor scalar(double value, DType dtype) {
        return full(Shape.scalar(), dtype, value);
    }

    /** A new F32 tensor holding {@code values} in row-major order. */
    public static Tensor of(float[] values, int... dims) {
        Shape shape = checkCount(values.length, dims);
        Tensor t = zeros(shape, DType.F32);
        MemorySegment.copy(values, 0, t.storage.segment, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
        return t;
    }

    /** A new tensor of {@code dtype} holding {@code values} (rounded to the type) in row-major order. */
    public static Tensor of(double[] values, DType dtype, int... dims) {
        Shape shape = checkCount(values.length, dims);
        Tensor t = zeros(shape, dtype);
        for (int i = 0; i < values.length; i++) {
            Elements.set(t.storage.segment, dtype, i, values[i]);
        }
        return t;
    }

    /** A new I32 tensor holding {@code values} in row-major order. */
    public static Tensor ofInts(int[] values, int... dims) {
        Shape shape = checkCount(values.length, dims);
        Tensor t = zeros(shape, DType.I32);
        MemorySegment.copy(values, 0, t.storage.segment, java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, values.length);
        return t;
    }

    /** A new I64 tensor holding {@code values} in row-major order. */
    public static Tensor ofLongs(long[] values, int... dims) {
        Shape shape = checkCount(values.length, dims);
        Tensor t = zeros(shape, DType.I64);
        MemorySegment.copy(values, 0, t.storage.segment, java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0, values.length);
        return t;
    }

    /**
     * A contiguous tensor over memory the caller owns (no copy). The tensor never frees it; the
     * caller keeps the segment alive while the tensor is used.
     */
    public static Tensor wrap(MemorySegment segment, Shape shape, DType dtype) {
        long needed = shape.numel() * dtype.byteSize();
        if (segment.byteSize() < needed) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is too small for a " + dtype + shape
                    + " tensor (" + needed + " bytes needed)");
        }
        return new Tensor(new Storage(segment, null, null), shape, dtype, shape.contiguousStrides(), 0, false);
    }

    private static Shape checkCount(int count, int[] dims) {
        Shape shape = Shape.of(dims);
        if (shape.numel() != count) {
            throw new IllegalArgumentException(count + " values do not fill shape " + shape + " (" + shape.numel() + " elements expected)");
        }
        return shape;
    }

    // ---------------------------------------------------------------- metadata

    /** The shape. */
    public Shape shape() {
        return shape;
    }

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** Always {@link Device#CPU} for tensors held in host memory. */
    public Device device() {
        return Device.CPU;
    }

    /** Strides in elements, one per dimension (a copy). */
    public long[] strides() {
        return strides.clone();
    }

    /** Offset of element [0,...,0] from the start of {@link #segment()}, in elements. */
    public long offset() {
        return offset;
    }

    /** Number of elements. */
    public long numel() {
        return shape.numel();
    }

    /**
     * True when elements are laid out row-major with no gaps, starting at {@link #offset()}. The
     * stride of a size-1 dimension never matters (a permuted [3,1] is a contiguous [1,3]).
     */
    public boolean isContiguous() {
        if (shape.numel() <= 1) {
            return true;
        }
        long[] expected = shape.contiguousStrides();
        for (int d = 0; d < strides.length; d++) {
            if (shape.dim(d) != 1 && strides[d] != expected[d]) {
                return false;
            }
        }
        return true;
    }

    /** True once {@link #close()} was called on this tensor or on the tensor owning its storage. */
    public boolean isClosed() {
        return storage.closed.get();
    }

    /**
     * The whole underlying segment (a view starts at {@link #offset()} inside it).
     *
     * @throws IllegalStateException if the tensor is closed
     */
    public MemorySegment segment() {
        checkOpen("segment");
        return storage.segment;
    }

    private void checkOpen(String what) {
        if (storage.closed.get()) {
            throw new IllegalStateException(what + ": tensor " + dtype + shape + " is closed"
                    + (owner ? "" : " (its owning tensor was closed)"));
        }
    }

    // ---------------------------------------------------------------- views

    /** A view with dimensions reordered: output dimension i is input dimension {@code perm[i]}. */
    public Tensor permute(int... perm) {
        checkOpen("permute");
        if (perm.length != shape.rank()) {
            throw new IllegalArgumentException("permute" + Arrays.toString(perm) + " does not match rank " + shape.rank() + " of " + shape);
        }
        boolean[] seen = new boolean[perm.length];
        int[] dims = new int[perm.length];
        long[] st = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            int p = shape.normalizeAxis(perm[i]);
            if (seen[p]) {
                throw new IllegalArgumentException("permute" + Arrays.toString(perm) + " repeats axis " + p);
            }
            seen[p] = true;
            dims[i] = shape.dim(p);
            st[i] = strides[p];
        }
        return new Tensor(storage, Shape.of(dims), dtype, st, offset, false);
    }

    /** A view of {@code [start, end)} with {@code step} along {@code axis}. */
    public Tensor slice(int axis, int start, int end, int step) {
        checkOpen("slice");
        int a = shape.normalizeAxis(axis);
        int size = shape.dim(a);
        if (step <= 0 || start < 0 || end > size || start > end) {
            throw new IllegalArgumentException("slice(axis=" + axis + ", " + start + ":" + end + ":" + step + ") is out of range for "
                    + shape + " (expected 0 <= start <= end <= " + size + ", step >= 1)");
        }
        long[] st = strides.clone();
        st[a] = strides[a] * step;
        int len = (end - start + step - 1) / step;
        return new Tensor(storage, shape.withDim(a, len), dtype, st, offset + start * strides[a], false);
    }

    /** A broadcast view to {@code target} (stride 0 along stretched dimensions). */
    public Tensor expand(Shape target) {
        checkOpen("expand");
        if (!shape.broadcastsTo(target)) {
            throw new IllegalArgumentException("cannot expand " + shape + " to " + target);
        }
        long[] st = new long[target.rank()];
        int lead = target.rank() - shape.rank();
        for (int i = 0; i < target.rank(); i++) {
            if (i < lead) {
                st[i] = 0;
            } else {
                st[i] = shape.dim(i - lead) == 1 && target.dim(i) != 1 ? 0 : strides[i - lead];
            }
        }
        return new Tensor(storage, target, dtype, st, offset, false);
    }

    /** A view with a new shape of the same element count; the tensor must be contiguous. */
    public Tensor reshape(int... dims) {
        checkOpen("reshape");
        Shape target = Shape.of(dims);
        if (target.numel() != shape.numel()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " (" + shape.numel() + " elements) to " + target
                    + " (" + target.numel() + " elements)");
        }
        if (!isContiguous()) {
            throw new IllegalArgumentException("reshape of a non-contiguous " + shape + " view: call contiguous() first");
        }
        return new Tensor(storage, target, dtype, target.contiguousStrides(), offset, false);
    }

    // ---------------------------------------------------------------- element access

    /** Segment element index (from the segment start) of the logical row-major position {@code flat}. */
    public long storageIndex(long flat) {
        long idx = offset;
        long rem = flat;
        for (int d = shape.rank() - 1; d >= 0; d--) {
            int size = shape.dim(d);
            long i = rem % size;
            rem /= size;
            idx += i * strides[d];
        }
        return idx;
    }

    /** Reads the element at a multi-index. */
    public double getDouble(long... index) {
        checkOpen("getDouble");
        return Elements.get(storage.segment, dtype, indexOf(index));
    }

    /** Writes the element at a multi-index, rounding to the dtype. */
    public void setDouble(double value, long... index) {
        checkOpen("setDouble");
        Elements.set(storage.segment, dtype, indexOf(index), value);
    }

    /** Reads the element at logical row-major position {@code flat}. */
    public double getFlat(long flat) {
        checkOpen("getFlat");
        return Elements.get(storage.segment, dtype, storageIndex(flat));
    }

    /** Writes the element at logical row-major position {@code flat}, rounding to the dtype. */
    public void setFlat(long flat, double value) {
        checkOpen("setFlat");
        Elements.set(storage.segment, dtype, storageIndex(flat), value);
    }

    private long indexOf(long[] index) {
        if (index.length != shape.rank()) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has " + index.length + " coordinates; tensor " + shape + " has rank " + shape.rank());
        }
        long idx = offset;
        for (int d = 0; d < index.length; d++) {
            if (index[d] < 0 || index[d] >= shape.dim(d)) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is out of bounds for " + shape);
            }
            idx += index[d] * strides[d];
        }
        return idx;
    }

    /** All elements in row-major order as doubles. */
    public double[] toDoubleArray() {
        checkOpen("toDoubleArray");
        long n = numel();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor " + shape + " is too large for a Java array");
        }
        double[] out = new double[(int) n];
        for (int i = 0; i < out.length; i++) {
            out[i] = Elements.get(storage.segment, dtype, storageIndex(i));
        }
        return out;
    }

    /** All elements in row-major order as floats. */
    public float[] toFloatArray() {
        checkOpen("toFloatArray");
        double[] d = toDoubleArray();
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = (float) d[i];
        }
        return out;
    }

    /**
     * All elements in row-major order as longs: integer tensors exactly (I64 values beyond 2^53
     * included), floating tensors truncated toward zero.
     */
    public long[] toLongArray() {
        checkOpen("toLongArray");
        if (dtype.isFloating()) {
            double[] d = toDoubleArray();
            long[] out = new long[d.length];
            for (int i = 0; i < d.length; i++) {
                out[i] = (long) d[i];
            }
            return out;
        }
        long n = numel();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor " + shape + " is too large for a Java array");
        }
        long[] out = new long[(int) n];
        MemorySegment seg = storage.segment;
        for (int i = 0; i < out.length; i++) {
            long at = storageIndex(i);
            out[i] = switch (dtype) {
                case I64 -> seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at);
                case I32 -> seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at);
                case U8 -> seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) & 0xff;
                default -> seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) != 0 ? 1 : 0;
            };
        }
        return out;
    }

    /** The single element of a one-element tensor. */
    public double item() {
        checkOpen("item");
        if (numel() != 1) {
            throw new IllegalStateException("item() needs a one-element tensor, got " + shape);
        }
        return getFlat(0);
    }

    /** A new contiguous tensor with the same values (always a copy). */
    public Tensor contiguous() {
        checkOpen("contiguous");
        Tensor out = zeros(shape, dtype);
        out.copyFrom(this);
        return out;
    }

    /** A new contiguous tensor with the values converted (and rounded) to {@code target}. */
    public Tensor to(DType target) {
        checkOpen("to");
        Tensor out = zeros(shape, target);
        out.copyFrom(this);
        return out;
    }

    /** Copies {@code src}'s values (same shape; any dtype, converted) into this tensor. */
    public void copyFrom(Tensor src) {
        checkOpen("copyFrom");
        src.checkOpen("copyFrom (source)");
        if (!src.shape.equals(shape)) {
            throw new IllegalArgumentException("copyFrom: source shape " + src.shape + " differs from destination shape " + shape);
        }
        long n = numel();
        if (src.dtype == dtype && src.isContiguous() && isContiguous()) {
            MemorySegment.copy(src.storage.segment, src.offset * dtype.byteSize(), storage.segment, offset * dtype.byteSize(), n * dtype.byteSize());
            return;
        }
        if (src.dtype == dtype || (src.dtype.isIntegral() && dtype.isIntegral())) {
            // exact: same-type moves and integer conversions never go through double (i64 beyond 2^53)
            for (long i = 0; i < n; i++) {
                Elements.setLong(storage.segment, dtype, storageIndex(i), Elements.getLong(src.storage.segment, src.dtype, src.storageIndex(i)), src.dtype == dtype);
            }
            return;
        }
        for (long i = 0; i < n; i++) {
            Elements.set(storage.segment, dtype, storageIndex(i), Elements.get(src.storage.segment, src.dtype, src.storageIndex(i)));
        }
    }

    /** Frees the storage if this tensor owns it; closing twice is harmless. Views only mark themselves unusable via their owner. */
    @Override
    public void close() {
        if (owner && storage.closed.compareAndSet(false, true) && storage.arena != null) {
            storage.arena.close();
        }
    }

    /** Prints dtype, shape and (for small tensors) the values, e.g. {@code f32[2,2] [1.0, 2.0, 3.0, 4.0]}. */
    @Override
    public String toString() {
        String head = dtype.shortName() + shape;
        if (isClosed()) {
            return head + " (closed)";
        }
        if (numel() > 64) {
            return head;
        }
        return head + " " + Arrays.toString(toDoubleArray());
    }
}
