package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.numeric.Philox;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Source ops: CONSTANT (fill), IOTA (index along an axis) and RANDOM_UNIFORM (Philox4x32-10 with
 * the recipe documented in {@link Philox}; the counter offset is read from the I64 input each
 * run, so advancing it gives new numbers without recompiling).
 */
final class CpuSources {
    private static final int GRAIN = 1 << 14;

    private CpuSources() {
    }

    static Kernel prepare(Node node, int[] in, int out) {
        DType t = node.output().dtype();
        long n = node.output().shape().numel();
        switch (node.op()) {
            case CONSTANT -> {
                double value = node.attrs(OpAttrs.Constant.class).value();
                return slots -> {
                    MemorySegment o = CpuElements.seg(slots, out);
                    for (long i = 0; i < n; i++) {
                        if (t == DType.F16 || t == DType.BF16) {
                            // one rounding of the double attribute, as Tensor and CAST from f64 do
                            o.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, CpuElements.roundDoubleToHalf(value, t));
                        } else if (t.isFloating()) {
                            CpuElements.store(o, t, i, value);
                        } else {
                            // a bool constant is value != 0 (0.5 and NaN are true), as Tensor stores it
                            CpuElements.storeLong(o, t, i, t == DType.BOOL ? (value != 0 ? 1 : 0) : (long) value);
                        }
                    }
                };
            }
            case IOTA -> {
                int axis = node.attrs(OpAttrs.Axis.class).axis();
                int[] dims = node.output().shape().dims();
                long innerSize = 1;
                for (int i = axis + 1; i < dims.length; i++) {
                    innerSize *= dims[i];
                }
                long inner = innerSize;
                int size = dims[axis];
                return slots -> {
                    MemorySegment o = CpuElements.seg(slots, out);
                    CpuParallel.parallelFor(0, (int) n, GRAIN, (from, to) -> {
                        for (int i = from; i < to; i++) {
                            long c = (i / inner) % size;
                            if (t.isFloating()) {
                                CpuElements.store(o, t, i, c);
                            } else {
                                CpuElements.storeLong(o, t, i, c);
                            }
                        }
                    });
                };
            }
            case RANDOM_UNIFORM -> {
                OpAttrs.Random r = node.attrs(OpAttrs.Random.class);
                long seed = r.seed();
                long stream = r.stream();
                return new Kernel() {
                    @Override
                    public void run(Buffer[] slots) {
                        MemorySegment o = CpuElements.seg(slots, out);
                        long offset = CpuElements.seg(slots, in[0]).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
                        // Tasks cover whole Philox blocks of the counter sequence offset, offset+1, ...
                        // (unsigned, wrapping past 2^64 - 1 to 0, so block indices wrap modulo 2^62).
                        long firstBlock = offset >>> 2;
                        int lead = (int) (offset & 3);
                        long blocks = n == 0 ? 0 : (lead + n + 3) / 4;
                        CpuParallel.parallelFor(0, (int) blocks, GRAIN / 4, (from, to) -> {
                            int[] words = new int[4];
                            for (int bi = from; bi < to; bi++) {
                                long block = (firstBlock + bi) & (-1L >>> 2);
                                Philox.block(seed, stream, block, words);
                                for (int w = 0; w < 4; w++) {
                                    long i = bi * 4L + w - lead; // element index: counter offset + i is block * 4 + w
                                    if (i >= 0 && i < n) {
                                        CpuElements.store(o, t, i, Philox.toUniform(words[w]));
                                    }
                                }
                            }
                        });
                    }
                };
            }
            default -> throw new IllegalStateException("not a source op the CPU backend computes: " + node.op());
        }
    }
}
