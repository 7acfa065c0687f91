package dev.frugal.runtime.cpu.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Gemm} against a naive float64 loop over the same (float-valued) inputs: every transpose
 * combination, sizes around and below the micro-tile and block sizes, offsets, padded leading
 * dimensions, batch strides including 0 (broadcast), accumulation, and both the single-thread
 * (small) and parallel (large) paths.
 */
class GemmTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    /** One GEMM problem: sizes, transposes, storage layout and whether C accumulates. */
    private record Problem(int batch, int m, int n, int k, boolean ta, boolean tb,
                           long aOff, long bOff, long cOff, int padA, int padB, int padC,
                           boolean broadcastA, boolean broadcastB, boolean accumulate) {
        long lda() {
            return (ta ? m : k) + padA;
        }

        long ldb() {
            return (tb ? k : n) + padB;
        }

        long ldc() {
            return n + padC;
        }

        long aRows() {
            return ta ? k : m;
        }

        long bRows() {
            return tb ? n : k;
        }

        long aStride() {
            return broadcastA ? 0 : aRows() * lda() + 3; // +3: batch matrices need not be packed
        }

        long bStride() {
            return broadcastB ? 0 : bRows() * ldb() + 5;
        }

        long cStride() {
            return (long) m * ldc() + 1;
        }

        long aElems() {
            return aOff + (long) Math.max(0, batch - 1) * aStride() + aRows() * lda();
        }

        long bElems() {
            return bOff + (long) Math.max(0, batch - 1) * bStride() + bRows() * ldb();
        }

        long cElems() {
            return cOff + (long) Math.max(0, batch - 1) * cStride() + (long) m * ldc();
        }
    }

    static Stream<Arguments> shapes() {
        // Sizes straddle MR (8), NR (32 with AVX-512, 16 with AVX2), the edges of a tile and KC (256).
        int[][] mnk = {
            {1, 1, 1}, {1, 7, 3}, {7, 1, 5}, {7, 7, 7}, {8, 32, 1}, {9, 33, 17},
            {33, 7, 257}, {17, 65, 33}, {64, 64, 64}, {3, 100, 300}, {130, 5, 2}, {257, 33, 7},
        };
        Stream.Builder<Arguments> out = Stream.builder();
        for (int[] s : mnk) {
            for (int t = 0; t < 4; t++) {
                out.add(Arguments.of(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
            }
        }
        return out.build();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("shapes")
    void plainMatchesReference(int m, int n, int k, boolean ta, boolean tb) {
        check(new Problem(1, m, n, k, ta, tb, 0, 0, 0, 0, 0, 0, false, false, false), 11);
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("shapes")
    void offsetsPaddingBatchAndAccumulate(int m, int n, int k, boolean ta, boolean tb) {
        check(new Problem(3, m, n, k, ta, tb, 5, 9, 2, 3, 1, 4, false, false, true), 12);
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("shapes")
    void broadcastBatchStrideZero(int m, int n, int k, boolean ta, boolean tb) {
        check(new Problem(4, m, n, k, ta, tb, 1, 0, 0, 0, 2, 0, true, false, false), 13);
        check(new Problem(4, m, n, k, ta, tb, 0, 3, 7, 1, 0, 0, false, true, true), 14);
    }

    @Test
    void largeSingleMatrixUsesParallelPathAndCrossesEveryBlockSize() {
        // Larger than MC, NC and KC in every dimension, with ragged edges: several depth blocks
        // (accumulated), several row blocks, more units than threads.
        for (int t = 0; t < 4; t++) {
            check(new Problem(1, 301, 1100, 531, (t & 1) != 0, (t & 2) != 0, 0, 0, 0, 0, 0, 0, false, false, false), 20 + t);
        }
    }

    @Test
    void batchSmallerThanThreadsSplitsMatrices() {
        check(new Problem(1, 200, 40, 300, false, false, 0, 0, 0, 0, 0, 0, false, false, true), 30);
        check(new Problem(1, 9, 700, 300, false, true, 0, 0, 0, 0, 0, 0, false, false, false), 31);
        check(new Problem(3, 150, 160, 90, true, false, 0, 0, 0, 0, 0, 0, true, false, false), 32);
    }

    @Test
    void manySmallMatricesSplitByBatch() {
        check(new Problem(37, 13, 19, 23, false, false, 0, 0, 0, 0, 0, 0, false, false, false), 40);
        check(new Problem(64, 40, 40, 40, true, true, 0, 0, 0, 0, 0, 0, false, true, true), 41);
    }

    @Test
    void zeroDepthClearsOrKeepsC() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(4);
            MemorySegment c = arena.allocate(4L * 2 * 3);
            for (int i = 0; i < 6; i++) {
                c.setAtIndex(F32, i, 7f);
            }
            Gemm.gemmF32(1, 2, 3, 0, a, 0, 0, 1, false, a, 0, 0, 3, false, c, 0, 0, 3, true);
            assertEquals(7f, c.getAtIndex(F32, 5));
            Gemm.gemmF32(1, 2, 3, 0, a, 0, 0, 1, false, a, 0, 0, 3, false, c, 0, 0, 3, false);
            for (int i = 0; i < 6; i++) {
                assertEquals(0f, c.getAtIndex(F32, i), "element " + i);
            }
        }
    }

    @Test
    void writesNothingOutsideC() {
        // C sits between guard elements (offset and padded rows): they must keep their values.
        Problem p = new Problem(2, 19, 37, 29, false, false, 0, 0, 6, 0, 0, 5, false, false, false);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = random(arena, p.aElems(), 1);
            MemorySegment b = random(arena, p.bElems(), 2);
            MemorySegment c = arena.allocate((p.cElems() + 16) * 4);
            for (long i = 0; i < p.cElems() + 16; i++) {
                c.setAtIndex(F32, i, -123f);
            }
            run(p, a, b, c);
            for (long i = 0; i < p.cElems() + 16; i++) {
                long rel = i - p.cOff();
                boolean inside = false;
                if (rel >= 0) {
                    long bi = rel / p.cStride();
                    long within = rel % p.cStride();
                    inside = bi < p.batch() && within / p.ldc() < p.m() && within % p.ldc() < p.n();
                }
                if (!inside) {
                    assertEquals(-123f, c.getAtIndex(F32, i), "element " + i + " outside C was written");
                }
            }
        }
    }

    @Test
    void f64MatchesReference() {
        for (int t = 0; t < 4; t++) {
            Problem p = new Problem(2, 13, 21, 17, (t & 1) != 0, (t & 2) != 0, 3, 1, 2, 1, 2, 3, t == 1, t == 2, t == 3);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment a = randomF64(arena, p.aElems(), 50 + t);
                MemorySegment b = randomF64(arena, p.bElems(), 60 + t);
                MemorySegment c = randomF64(arena, p.cElems(), 70 + t);
                double[] expected = reference(p, i -> a.getAtIndex(F64, i), i -> b.getAtIndex(F64, i), i -> c.getAtIndex(F64, i));
                Gemm.gemmF64(p.batch(), p.m(), p.n(), p.k(), a, p.aOff(), p.aStride(), p.lda(), p.ta(),
                        b, p.bOff(), p.bStride(), p.ldb(), p.tb(), c, p.cOff(), p.cStride(), p.ldc(), p.accumulate());
                forEachC(p, (idx, e) -> assertEquals(expected[e], c.getAtIndex(F64, idx), 1e-12 * (1 + Math.abs(expected[e])),
                        "C element " + idx));
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment s = arena.allocate(4L * 16);
            assertThrows(IllegalArgumentException.class,
                    () -> Gemm.gemmF32(1, -1, 4, 4, s, 0, 0, 4, false, s, 0, 0, 4, false, s, 0, 0, 4, false));
            // lda smaller than the stored row length.
            assertThrows(IllegalArgumentException.class,
                    () -> Gemm.gemmF32(1, 4, 4, 4, s, 0, 0, 3, false, s, 0, 0, 4, false, s, 0, 0, 4, false));
            // C needs 2 x 16 elements but the segment holds 16.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Gemm.gemmF32(2, 4, 4, 4, s, 0, 0, 4, false, s, 0, 0, 4, false, s, 0, 16, 4, false));
            assertTrue(e.getMessage().contains("C"), e.getMessage());
        }
    }

    private interface Reader {
        double get(long index);
    }

    private interface CVisitor {
        void visit(long segmentIndex, int denseIndex);
    }

    private static void check(Problem p, long seed) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = random(arena, p.aElems(), seed);
            MemorySegment b = random(arena, p.bElems(), seed + 1000);
            MemorySegment c = random(arena, p.cElems(), seed + 2000);
            double[] expected = reference(p, i -> a.getAtIndex(F32, i), i -> b.getAtIndex(F32, i), i -> c.getAtIndex(F32, i));
            double[] scale = absReference(p, a, b, c);
            run(p, a, b, c);
            forEachC(p, (idx, e) -> {
                // float32 error bound: k roundings of terms no larger than sum |a||b|.
                double tol = 4e-7 * (p.k() + 2) * scale[e] + 1e-30;
                assertEquals(expected[e], c.getAtIndex(F32, idx), tol, () -> p + ": C element " + idx);
            });
        }
    }

    private static void run(Problem p, MemorySegment a, MemorySegment b, MemorySegment c) {
        Gemm.gemmF32(p.batch(), p.m(), p.n(), p.k(), a, p.aOff(), p.aStride(), p.lda(), p.ta(),
                b, p.bOff(), p.bStride(), p.ldb(), p.tb(), c, p.cOff(), p.cStride(), p.ldc(), p.accumulate());
    }

    private static void forEachC(Problem p, CVisitor v) {
        int e = 0;
        for (int bi = 0; bi < p.batch(); bi++) {
            for (int i = 0; i < p.m(); i++) {
                for (int j = 0; j < p.n(); j++) {
                    v.visit(p.cOff() + bi * p.cStride() + i * p.ldc() + j, e++);
                }
            }
        }
    }

    private static double[] reference(Problem p, Reader a, Reader b, Reader c) {
        double[] out = new double[p.batch() * p.m() * p.n()];
        forEachC(p, (idx, e) -> {
            int bi = e / (p.m() * p.n());
            int i = e / p.n() % p.m();
            int j = e % p.n();
            double sum = p.accumulate() ? c.get(idx) : 0.0;
            long aBase = p.aOff() + bi * p.aStride();
            long bBase = p.bOff() + bi * p.bStride();
            for (int q = 0; q < p.k(); q++) {
                double av = a.get(aBase + (p.ta() ? q * p.lda() + i : i * p.lda() + q));
                double bv = b.get(bBase + (p.tb() ? j * p.ldb() + q : q * p.ldb() + j));
                sum += av * bv;
            }
            out[e] = sum;
        });
        return out;
    }

    private static double[] absReference(Problem p, MemorySegment a, MemorySegment b, MemorySegment c) {
        return reference(p, i -> Math.abs(a.getAtIndex(F32, i)), i -> Math.abs(b.getAtIndex(F32, i)),
                i -> Math.abs(c.getAtIndex(F32, i)));
    }

    private static MemorySegment random(Arena arena, long count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment s = arena.allocate(Math.max(1, count) * 4, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(F32, i, (float) rnd.nextDouble(-1, 1));
        }
        return s;
    }

    private static MemorySegment randomF64(Arena arena, long count, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment s = arena.allocate(Math.max(1, count) * 8, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(F64, i, rnd.nextDouble(-1, 1));
        }
        return s;
    }
}
