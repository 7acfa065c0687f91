package dev.frugal.runtime.cpu.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * General matrix multiply on the CPU: {@code C = op(A) * op(B)} (plus {@code C} when
 * {@code accumulate}), batched, row-major, over off-heap {@link MemorySegment}s.
 *
 * <p>{@code op(A)} is {@code m x k}; with {@code transA} it is stored {@code k x m}. {@code op(B)}
 * is {@code k x n}; with {@code transB} it is stored {@code n x k}. {@code C} is {@code m x n}.
 * Offsets, batch strides and leading dimensions are in elements; matrix {@code i} of the batch
 * starts at {@code offset + i * batchStride} (a batch stride of 0 broadcasts one matrix).
 *
 * <p>The float32 path is a GotoBLAS/BLIS-style GEMM: blocks of {@code op(B)} ({@link #KC} x
 * {@link #NC}) and {@code op(A)} ({@link #MC} x {@link #KC}) are packed into per-thread off-heap
 * buffers (the packing absorbs both transposes and zero-pads the edges), and a register-blocked
 * micro-kernel computes {@link #MR} x {@link #NR} tiles of {@code C} with FMA accumulators held
 * in registers. Work is split across {@link CpuParallel} by batch, then along the larger of M and
 * N, one part per thread, so each thread packs its panels once. Called from inside the pool (for
 * example per image from a parallel convolution) a GEMM runs whole on the calling thread.
 *
 * <p>The float64 path is a plain, parallel loop nest: it exists for finite-difference gradient
 * checks, where correctness matters and speed only has to be reasonable.
 *
 * <p>Segments must be readable from the pool's threads (shared, global or automatic arena).
 */
public final class Gemm {

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    /** Rows of the micro-tile: 8 rows x 2 vectors = 16 accumulators, which fit the 32 AVX-512 registers with room for loads. */
    static final int MR = 8;
    /** MR floats as one vector, for packing transposed A. */
    private static final VectorSpecies<Float> FS_MR = FloatVector.SPECIES_256;
    /** Columns of the micro-tile: two vectors (32 floats with AVX-512). */
    static final int NR = 2 * VL;
    /** Depth of a packed block: one MR x KC sliver of A plus one KC x NR sliver of B stay in L1. */
    static final int KC = Integer.getInteger("frugal.gemm.kc", 256);
    /** Rows of a packed A block (multiple of MR): MC x KC floats stay in L2. */
    static final int MC = roundUp(Integer.getInteger("frugal.gemm.mc", 128), MR);
    /** Columns of a packed B panel (multiple of NR): KC x NC floats stay in L2/L3. */
    static final int NC = roundUp(Integer.getInteger("frugal.gemm.nc", 1024), NR);

    /** Below this many multiply-adds a GEMM runs on the calling thread: forking costs more than it saves. */
    private static final long PARALLEL_MIN_FMAS = 1L << 18;

    /** Per-thread packing buffers, allocated once per thread (automatic arena: freed with the thread). */
    private static final class Scratch {
        final MemorySegment aPack = Arena.ofAuto().allocate((long) MC * KC * Float.BYTES, 64);
        final MemorySegment bPack = Arena.ofAuto().allocate((long) KC * NC * Float.BYTES, 64);
        final MemorySegment tile = Arena.ofAuto().allocate((long) MR * NR * Float.BYTES, 64);
        /**
         * Staging for packing a transposed B sliver: its NR source rows are copied in whole
         * (contiguous in depth), transposed here by plain array loops, and copied out whole.
         * Element-by-element segment reads and writes, with a bounds check each, cost several
         * times more.
         */
        final float[] rows = new float[NR * KC];
        final float[] sliver = new float[KC * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Gemm() {
    }

    private static int roundUp(int x, int multiple) {
        return Math.max(multiple, (x + multiple - 1) / multiple * multiple);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /**
     * float32 {@code C = op(A) * op(B)} (+ {@code C} if {@code accumulate}); see the class
     * documentation for the layout conventions.
     *
     * @throws IllegalArgumentException for negative sizes or offsets, a leading dimension smaller
     *     than the stored row length, or a segment too small for the described matrices
     */
    public static void gemmF32(int batch, int m, int n, int k,
                               MemorySegment a, long aOffset, long aBatchStride, long lda, boolean transA,
                               MemorySegment b, long bOffset, long bBatchStride, long ldb, boolean transB,
                               MemorySegment c, long cOffset, long cBatchStride, long ldc, boolean accumulate) {
        checkArgs("gemmF32", Float.BYTES, batch, m, n, k, a, aOffset, aBatchStride, lda, transA,
                b, bOffset, bBatchStride, ldb, transB, c, cOffset, cBatchStride, ldc);
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                for (int bi = 0; bi < batch; bi++) {
                    for (int i = 0; i < m; i++) {
                        long row = (cOffset + bi * cBatchStride + i * ldc) * Float.BYTES;
                        c.asSlice(row, (long) n * Float.BYTES).fill((byte) 0);
                    }
                }
            }
            return;
        }

        // Plan the work units: every matrix of the batch is split into mParts x nParts parts so
        // that there are at least as many units as threads; parts are contiguous ranges of whole
        // micro-tiles, so each thread packs its own panels and no two units write the same C.
        // Inside the pool (a convolution running GEMMs from a parallel loop over images) every
        // unit would run inline on this thread anyway; splitting would only pack B twice.
        int threads = CpuParallel.inPool() ? 1 : CpuParallel.threads();
        long fmas = (long) batch * m * n * k;
        int parts = (batch >= threads || fmas < PARALLEL_MIN_FMAS) ? 1 : ceilDiv(threads, batch);
        int mTiles = ceilDiv(m, MR);
        int nTiles = ceilDiv(n, NR);
        int mParts;
        int nParts;
        if (mTiles >= nTiles) {
            mParts = Math.min(parts, mTiles);
            nParts = Math.min(ceilDiv(parts, mParts), nTiles);
        } else {
            nParts = Math.min(parts, nTiles);
            mParts = Math.min(ceilDiv(parts, nParts), mTiles);
        }
        final int mp = mParts;
        final int np = nParts;
        int units = batch * mp * np;
        CpuParallel.IntRangeBody body = (from, to) -> {
            for (int u = from; u < to; u++) {
                int bi = u / (mp * np);
                int rest = u % (mp * np);
                int mi = rest / np;
                int ni = rest % np;
                int mStart = Math.min(m, (int) ((long) mTiles * mi / mp) * MR);
                int mEnd = Math.min(m, (int) ((long) mTiles * (mi + 1) / mp) * MR);
                int nStart = Math.min(n, (int) ((long) nTiles * ni / np) * NR);
                int nEnd = Math.min(n, (int) ((long) nTiles * (ni + 1) / np) * NR);
                if (mStart < mEnd && nStart < nEnd) {
                    gemmF32Block(k, mStart, mEnd, nStart, nEnd,
                            a, aOffset + bi * aBatchStride, lda, transA,
                            b, bOffset + bi * bBatchStride, ldb, transB,
                            c, cOffset + bi * cBatchStride, ldc, accumulate);
                }
            }
        };
        if (fmas < PARALLEL_MIN_FMAS) {
            body.run(0, units);
        } else {
            CpuParallel.parallelFor(0, units, 1, body);
        }
    }

    /** One work unit: rows {@code [mStart, mEnd)} and columns {@code [nStart, nEnd)} of one C matrix, full depth. */
    private static void gemmF32Block(int k, int mStart, int mEnd, int nStart, int nEnd,
                                     MemorySegment a, long aBase, long lda, boolean transA,
                                     MemorySegment b, long bBase, long ldb, boolean transB,
                                     MemorySegment c, long cBase, long ldc, boolean accumulate) {
        Scratch s = SCRATCH.get();
        MemorySegment aPack = s.aPack;
        MemorySegment bPack = s.bPack;
        MemorySegment tile = s.tile;
        for (int jc = nStart; jc < nEnd; jc += NC) {
            int nc = Math.min(NC, nEnd - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                // Later depth blocks add onto what the first one wrote.
                boolean add = accumulate || pc > 0;
                packB(b, bBase, ldb, transB, pc, kc, jc, nc, bPack, s);
                for (int ic = mStart; ic < mEnd; ic += MC) {
                    int mc = Math.min(MC, mEnd - ic);
                    packA(a, aBase, lda, transA, ic, mc, pc, kc, aPack);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        long bSliver = (long) jr * kc;
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            long aSliver = (long) ir * kc;
                            long cIdx = cBase + (long) (ic + ir) * ldc + jc + jr;
                            kernel8x2(kc, aPack, aSliver, bPack, bSliver, tile);
                            mergeTile(tile, c, cIdx, ldc, mr, nr, add);
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs rows {@code [ic, ic+mc)}, depth {@code [pc, pc+kc)} of op(A) into MR-row slivers: sliver
     * {@code s} holds, for each depth index, its MR row values side by side (rows past the matrix
     * are zero), so the micro-kernel reads A sequentially.
     */
    private static void packA(MemorySegment a, long aBase, long lda, boolean transA,
                              int ic, int mc, int pc, int kc, MemorySegment aPack) {
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            long dst = (long) ir * kc;
            if (!transA) {
                // op(A)(i, p) = a[i*lda + p]: each row is contiguous in p.
                for (int r = 0; r < rows; r++) {
                    long src = aBase + (long) (ic + ir + r) * lda + pc;
                    for (int p = 0; p < kc; p++) {
                        aPack.setAtIndex(F32, dst + (long) p * MR + r, a.getAtIndex(F32, src + p));
                    }
                }
            } else {
                // op(A)(i, p) = a[p*lda + i]: the MR values for one p are contiguous.
                for (int p = 0; p < kc; p++) {
                    long src = aBase + (long) (pc + p) * lda + ic + ir;
                    long d = dst + (long) p * MR;
                    if (rows == MR) {
                        // One 8-lane vector move (cheaper than a MemorySegment.copy call).
                        FloatVector.fromMemorySegment(FS_MR, a, src * Float.BYTES, NATIVE)
                                .intoMemorySegment(aPack, d * Float.BYTES, NATIVE);
                    } else {
                        for (int r = 0; r < rows; r++) {
                            aPack.setAtIndex(F32, d + r, a.getAtIndex(F32, src + r));
                        }
                    }
                }
            }
            for (int r = rows; r < MR; r++) {
                for (int p = 0; p < kc; p++) {
                    aPack.setAtIndex(F32, dst + (long) p * MR + r, 0f);
                }
            }
        }
    }

    /**
     * Packs depth {@code [pc, pc+kc)}, columns {@code [jc, jc+nc)} of op(B) into NR-column slivers:
     * sliver {@code t} holds, for each depth index, its NR column values contiguously (columns
     * past the matrix are zero).
     */
    private static void packB(MemorySegment b, long bBase, long ldb, boolean transB,
                              int pc, int kc, int jc, int nc, MemorySegment bPack, Scratch scratch) {
        for (int jr = 0; jr < nc; jr += NR) {
            int cols = Math.min(NR, nc - jr);
            long dst = (long) jr * kc;
            if (!transB) {
                // op(B)(p, j) = b[p*ldb + j]: the NR values for one p are contiguous.
                for (int p = 0; p < kc; p++) {
                    long src = bBase + (long) (pc + p) * ldb + jc + jr;
                    long d = dst + (long) p * NR;
                    if (cols == NR) {
                        // Two vector moves: a MemorySegment.copy call costs more than the
                        // 128 bytes it moves, and convolutions pack B once per image.
                        long sb = src * Float.BYTES;
                        long db = d * Float.BYTES;
                        FloatVector.fromMemorySegment(FS, b, sb, NATIVE).intoMemorySegment(bPack, db, NATIVE);
                        FloatVector.fromMemorySegment(FS, b, sb + VL * Float.BYTES, NATIVE)
                                .intoMemorySegment(bPack, db + VL * Float.BYTES, NATIVE);
                    } else {
                        for (int jj = 0; jj < cols; jj++) {
                            bPack.setAtIndex(F32, d + jj, b.getAtIndex(F32, src + jj));
                        }
                        for (int jj = cols; jj < NR; jj++) {
                            bPack.setAtIndex(F32, d + jj, 0f);
                        }
                    }
                }
            } else if (cols == NR) {
                // op(B)(p, j) = b[j*ldb + p]: each column of op(B) is contiguous in p.
                float[] staged = scratch.rows;
                float[] packed = scratch.sliver;
                for (int jj = 0; jj < NR; jj++) {
                    MemorySegment.copy(b, F32, (bBase + (long) (jc + jr + jj) * ldb + pc) * Float.BYTES, staged, jj * kc, kc);
                }
                for (int jj = 0; jj < NR; jj++) {
                    int from = jj * kc;
                    for (int p = 0; p < kc; p++) {
                        packed[p * NR + jj] = staged[from + p];
                    }
                }
                MemorySegment.copy(packed, 0, bPack, F32, dst * Float.BYTES, kc * NR);
            } else {
                // op(B)(p, j) = b[j*ldb + p]: each column of op(B) is contiguous in p.
                for (int jj = 0; jj < cols; jj++) {
                    long src = bBase + (long) (jc + jr + jj) * ldb + pc;
                    for (int p = 0; p < kc; p++) {
                        bPack.setAtIndex(F32, dst + (long) p * NR + jj, b.getAtIndex(F32, src + p));
                    }
                }
                for (int jj = cols; jj < NR; jj++) {
                    for (int p = 0; p < kc; p++) {
                        bPack.setAtIndex(F32, dst + (long) p * NR + jj, 0f);
                    }
                }
            }
        }
    }

    /**
     * The micro-kernel: an MR x NR (8 x 2 vectors) tile of C from a packed A sliver and a packed B
     * sliver of depth {@code kc}. The 16 accumulators are locals so C2 keeps them in vector
     * registers; per depth step it loads two B vectors, broadcasts eight A values and issues 16
     * FMAs. Writes the MR x NR result row-major to {@code tile}.
     */
    private static void kernel8x2(int kc, MemorySegment ap, long aIdx, MemorySegment bp, long bIdx, MemorySegment tile) {
        FloatVector c00 = FloatVector.zero(FS), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00,
                c70 = c00, c71 = c00;
        long ao = aIdx * Float.BYTES;
        long bo = bIdx * Float.BYTES;
        final long vb = (long) VL * Float.BYTES;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromMemorySegment(FS, bp, bo, NATIVE);
            FloatVector b1 = FloatVector.fromMemorySegment(FS, bp, bo + vb, NATIVE);
            FloatVector x;
            x = FloatVector.broadcast(FS, ap.get(F32, ao));
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 4));
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 8));
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 12));
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 16));
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 20));
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 24));
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(FS, ap.get(F32, ao + 28));
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            ao += MR * Float.BYTES;
            bo += 2 * vb;
        }
        // The accumulators go to the contiguous per-thread tile rather than to C. Two reasons:
        // C1 runs out of virtual registers on a kernel that also loads and adds C (and the
        // method can then stay out of C2 for seconds), and passing vectors to a helper that is
        // not inlined would box them. mergeTile then updates C from memory.
        long t = 0;
        c00.intoMemorySegment(tile, t, NATIVE);
        c01.intoMemorySegment(tile, t + vb, NATIVE);
        c10.intoMemorySegment(tile, t + 2 * vb, NATIVE);
        c11.intoMemorySegment(tile, t + 3 * vb, NATIVE);
        c20.intoMemorySegment(tile, t + 4 * vb, NATIVE);
        c21.intoMemorySegment(tile, t + 5 * vb, NATIVE);
        c30.intoMemorySegment(tile, t + 6 * vb, NATIVE);
        c31.intoMemorySegment(tile, t + 7 * vb, NATIVE);
        c40.intoMemorySegment(tile, t + 8 * vb, NATIVE);
        c41.intoMemorySegment(tile, t + 9 * vb, NATIVE);
        c50.intoMemorySegment(tile, t + 10 * vb, NATIVE);
        c51.intoMemorySegment(tile, t + 11 * vb, NATIVE);
        c60.intoMemorySegment(tile, t + 12 * vb, NATIVE);
        c61.intoMemorySegment(tile, t + 13 * vb, NATIVE);
        c70.intoMemorySegment(tile, t + 14 * vb, NATIVE);
        c71.intoMemorySegment(tile, t + 15 * vb, NATIVE);
    }

    /**
     * {@code C[0:mr, 0:nr] = tile[0:mr, 0:nr]} (plus the old C when {@code add}), where the tile is
     * the MR x NR row-major result of {@link #kernel8x2} and C starts at element {@code cIdx}.
     */
    private static void mergeTile(MemorySegment tile, MemorySegment c, long cIdx, long ldc, int mr, int nr, boolean add) {
        if (nr == NR) {
            final long vb = (long) VL * Float.BYTES;
            for (int r = 0; r < mr; r++) {
                long t = (long) r * NR * Float.BYTES;
                long o = (cIdx + r * ldc) * Float.BYTES;
                FloatVector v0 = FloatVector.fromMemorySegment(FS, tile, t, NATIVE);
                FloatVector v1 = FloatVector.fromMemorySegment(FS, tile, t + vb, NATIVE);
                if (add) {
                    v0 = v0.add(FloatVector.fromMemorySegment(FS, c, o, NATIVE));
                    v1 = v1.add(FloatVector.fromMemorySegment(FS, c, o + vb, NATIVE));
                }
                v0.intoMemorySegment(c, o, NATIVE);
                v1.intoMemorySegment(c, o + vb, NATIVE);
            }
            return;
        }
        for (int r = 0; r < mr; r++) {
            long cRow = cIdx + r * ldc;
            for (int jj = 0; jj < nr; jj++) {
                float v = tile.getAtIndex(F32, (long) r * NR + jj);
                if (add) {
                    v += c.getAtIndex(F32, cRow + jj);
                }
                c.setAtIndex(F32, cRow + jj, v);
            }
        }
    }

    /**
     * float64 {@code C = op(A) * op(B)} (+ {@code C} if {@code accumulate}), same conventions as
     * {@link #gemmF32}. A plain loop nest parallel over the rows of C: when B is stored k x n the
     * inner loop streams rows of B (axpy order); when B is transposed it takes dot products of
     * contiguous rows (dot order), so the innermost access is contiguous in both cases.
     */
    public static void gemmF64(int batch, int m, int n, int k,
                               MemorySegment a, long aOffset, long aBatchStride, long lda, boolean transA,
                               MemorySegment b, long bOffset, long bBatchStride, long ldb, boolean transB,
                               MemorySegment c, long cOffset, long cBatchStride, long ldc, boolean accumulate) {
        checkArgs("gemmF64", Double.BYTES, batch, m, n, k, a, aOffset, aBatchStride, lda, transA,
                b, bOffset, bBatchStride, ldb, transB, c, cOffset, cBatchStride, ldc);
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        int rows = batch * m;
        int grain = (int) Math.max(1, Math.min(rows, (1L << 15) / Math.max(1L, (long) n * k)));
        CpuParallel.parallelFor(0, rows, grain, (from, to) -> {
            for (int u = from; u < to; u++) {
                int bi = u / m;
                int i = u % m;
                long aBase = aOffset + bi * aBatchStride;
                long bBase = bOffset + bi * bBatchStride;
                long cRow = cOffset + bi * cBatchStride + i * ldc;
                if (!transB) {
                    if (!accumulate) {
                        for (int j = 0; j < n; j++) {
                            c.setAtIndex(F64, cRow + j, 0.0);
                        }
                    }
                    for (int p = 0; p < k; p++) {
                        double aip = transA ? a.getAtIndex(F64, aBase + (long) p * lda + i)
                                : a.getAtIndex(F64, aBase + (long) i * lda + p);
                        long bRow = bBase + (long) p * ldb;
                        for (int j = 0; j < n; j++) {
                            c.setAtIndex(F64, cRow + j, c.getAtIndex(F64, cRow + j) + aip * b.getAtIndex(F64, bRow + j));
                        }
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        long bRow = bBase + (long) j * ldb;
                        double sum = 0.0;
                        if (!transA) {
                            long aRow = aBase + (long) i * lda;
                            for (int p = 0; p < k; p++) {
                                sum += a.getAtIndex(F64, aRow + p) * b.getAtIndex(F64, bRow + p);
                            }
                        } else {
                            for (int p = 0; p < k; p++) {
                                sum += a.getAtIndex(F64, aBase + (long) p * lda + i) * b.getAtIndex(F64, bRow + p);
                            }
                        }
                        double old = accumulate ? c.getAtIndex(F64, cRow + j) : 0.0;
                        c.setAtIndex(F64, cRow + j, old + sum);
                    }
                }
            }
        });
    }

    /** Checks sizes, strides and that every matrix of the batch lies inside its segment. */
    private static void checkArgs(String op, int elemBytes, int batch, int m, int n, int k,
                                  MemorySegment a, long aOffset, long aBatchStride, long lda, boolean transA,
                                  MemorySegment b, long bOffset, long bBatchStride, long ldb, boolean transB,
                                  MemorySegment c, long cOffset, long cBatchStride, long ldc) {
        if (batch < 0 || m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException(op + ": sizes must be >= 0, got batch=" + batch + " m=" + m + " n=" + n + " k=" + k);
        }
        checkMatrix(op, "A", elemBytes, batch, transA ? k : m, transA ? m : k, a, aOffset, aBatchStride, lda);
        checkMatrix(op, "B", elemBytes, batch, transB ? n : k, transB ? k : n, b, bOffset, bBatchStride, ldb);
        checkMatrix(op, "C", elemBytes, batch, m, n, c, cOffset, cBatchStride, ldc);
    }

    private static void checkMatrix(String op, String name, int elemBytes, int batch, int rows, int cols,
                                    MemorySegment seg, long offset, long batchStride, long ld) {
        if (seg == null) {
            throw new IllegalArgumentException(op + ": segment " + name + " is null");
        }
        if (offset < 0 || batchStride < 0) {
            throw new IllegalArgumentException(op + ": " + name + " offset and batch stride must be >= 0, got offset="
                    + offset + " batchStride=" + batchStride);
        }
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException(op + ": leading dimension of " + name + " must be >= " + Math.max(1, cols)
                    + " (its stored row length), got " + ld);
        }
        if (batch == 0 || rows == 0 || cols == 0) {
            return;
        }
        long lastElement = offset + (batch - 1) * batchStride + (rows - 1) * ld + cols;
        long available = seg.byteSize() / elemBytes;
        if (lastElement > available) {
            throw new IllegalArgumentException(op + ": " + name + " (" + batch + " x " + rows + " x " + cols + ", offset "
                    + offset + ", batch stride " + batchStride + ", ld " + ld + ") needs " + lastElement
                    + " elements but its segment holds " + available);
        }
    }
}
