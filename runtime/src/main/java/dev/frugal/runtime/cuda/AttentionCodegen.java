package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import java.util.List;

/**
 * The CUDA C of fused attention (ATTENTION and ATTENTION_GRAD over [B, H, T, D], optionally
 * causal), with the softmax in float32 and no T x T matrix stored, as the CPU backend computes it.
 *
 * <p>Forward: one thread per query row keeps a running maximum, sum and weighted value row
 * (online softmax, D floats in registers) over the allowed keys and writes {@code acc / sum}.
 * Backward: one thread block per (batch, head) slice, in three phases separated by barriers:
 * each query row's log-sum-exp and {@code sum(dOut * out)} into shared memory; dq row by row;
 * then dk and dv key by key, each summing over the query rows that see it, so nothing is added
 * atomically and every sum has a fixed order. The per-row work is in {@code __host__ __device__}
 * helpers that the host replays (the {@code NAME_element} function runs a whole slice); the CPU
 * blocks its sums differently, so the two agree to float32 rounding, not bit for bit. This is a
 * simple kernel (a slice's rows on one block; scores recomputed per row); tiling through shared
 * memory is the next step once it has run on a GPU.
 */
public final class AttentionCodegen {
    /** Threads per block of the backward kernel. */
    public static final int THREADS = 128;
    /** Longest sequence the backward kernel's shared memory holds (two floats per query row). */
    public static final int MAX_BACKWARD_T = 4096;
    /** Largest head size held in registers. */
    public static final int MAX_D = 256;

    private AttentionCodegen() {
    }

    /** Whether {@code node} is an attention op this generator writes (F32, F16, BF16; D and, backward, T within the limits). */
    public static boolean supports(Node node) {
        if (node.op() != Op.ATTENTION && node.op() != Op.ATTENTION_GRAD) {
            return false;
        }
        DType t = node.input(0).dtype();
        int[] dims = node.input(0).shape().dims();
        return (t == DType.F32 || t == DType.F16 || t == DType.BF16) && dims[3] <= MAX_D
                && (node.op() == Op.ATTENTION || dims[2] <= MAX_BACKWARD_T);
    }

    /**
     * The kernel of {@code node}: forward parameters (q, k, v, out), backward (q, k, v, out, dOut,
     * packed [dq, dk, dv]). The backward kernel wants {@link #THREADS} threads per block and one
     * block per (batch, head) (a grid-stride loop covers fewer).
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA attention code for " + node + ": expected attention or its gradient over f32, f16"
                    + " or bf16 with head size <= " + MAX_D + " (and, backward, sequence <= " + MAX_BACKWARD_T + ")");
        }
        OpAttrs.Attention a = node.attrs(OpAttrs.Attention.class);
        int[] dims = node.input(0).shape().dims();
        int slices = dims[0] * dims[1];
        int tLen = dims[2];
        int d = dims[3];
        DType t = node.input(0).dtype();
        String type = ElementwiseCodegen.cType(t);
        float scale = (float) a.scale();
        String scaleLit = Float.toHexString(scale) + "f";
        String last = a.causal() ? "i" : (tLen - 1) + "";
        StringBuilder b = new StringBuilder();
        String ld = "(" + type + " const* p, long long o) { return " + ElementwiseCodegen.load(t, "p[o]") + "; }\n";
        b.append("FR_FN float NAME_ld").append(ld);
        // the scaled score of query row i against key row j of a slice
        b.append("FR_FN float NAME_score(const ").append(type).append("* q, const ").append(type).append("* k, long long i, long long j) {\n")
                .append("  float s = 0.0f;\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) s = FR_ADD(s, FR_MUL(NAME_ld(q, i * ").append(d)
                .append(" + c), NAME_ld(k, j * ").append(d).append(" + c)));\n")
                .append("  return FR_MUL(s, ").append(scaleLit).append(");\n}\n\n");
        if (node.op() == Op.ATTENTION) {
            String params = "const " + type + "* __restrict__ in0, const " + type + "* __restrict__ in1, const " + type
                    + "* __restrict__ in2, " + type + "* __restrict__ out0";
            b.append("FR_FN void NAME_element(long long row, ").append(params).append(") {\n")
                    .append("  const long long slice = row / ").append(tLen).append(";\n")
                    .append("  const long long i = row % ").append(tLen).append(";\n")
                    .append("  const long long base = slice * ").append((long) tLen * d).append("LL;\n")
                    .append("  const ").append(type).append("* q = in0 + base; const ").append(type).append("* k = in1 + base; const ")
                    .append(type).append("* v = in2 + base;\n")
                    .append("  float acc[").append(d).append("];\n")
                    .append("  for (int c = 0; c < ").append(d).append("; c++) acc[c] = 0.0f;\n")
                    .append("  float m = FR_FROM_BITS(0xff800000u);\n  float l = 0.0f;\n")
                    .append("  for (long long j = 0; j <= ").append(last).append("; j++) {\n")
                    .append("    const float s = NAME_score(q, k, i, j);\n")
                    .append("    const float mNew = s > m ? s : m;\n")
                    .append("    const float corr = expf(m - mNew);\n")
                    .append("    const float p = expf(s - mNew);\n")
                    .append("    l = FR_ADD(FR_MUL(l, corr), p);\n")
                    .append("    for (int c = 0; c < ").append(d).append("; c++) acc[c] = FR_ADD(FR_MUL(acc[c], corr), FR_MUL(p, NAME_ld(v, j * ")
                    .append(d).append(" + c)));\n")
                    .append("    m = mNew;\n")
                    .append("  }\n")
                    .append("  for (int c = 0; c < ").append(d).append("; c++) out0[base + i * ").append(d).append(" + c] = ")
                    .append(ElementwiseCodegen.store(t, "FR_DIV(acc[c], l)")).append(";\n")
                    .append("}\n\n");
            b.append("extern \"C\" __global__ void NAME(").append(params).append(") {\n")
                    .append("  const long long n = ").append((long) slices * tLen).append("LL;\n")
                    .append("  for (long long r = (long long) blockIdx.x * blockDim.x + threadIdx.x; r < n; r += (long long) gridDim.x * blockDim.x)"
                            + " NAME_element(r, in0, in1, in2, out0);\n")
                    .append("}\n");
            return finish(node, b.toString(), (long) slices * tLen, 0);
        }
        String params = "const " + type + "* __restrict__ in0, const " + type + "* __restrict__ in1, const " + type + "* __restrict__ in2, const "
                + type + "* __restrict__ in3, const " + type + "* __restrict__ in4, " + type + "* __restrict__ out0";
        String slicePtrs = "  const long long base = slice * " + (long) tLen * d + "LL;\n"
                + "  const " + type + "* q = in0 + base; const " + type + "* k = in1 + base; const " + type + "* v = in2 + base;\n"
                + "  const " + type + "* o = in3 + base; const " + type + "* g = in4 + base;\n";
        long packed = (long) slices * tLen * d;
        // phase 1: row statistics
        b.append("FR_FN void NAME_stats(long long slice, long long i, ").append(params).append(", float* lse, float* rowDot) {\n")
                .append(slicePtrs)
                .append("  float m = FR_FROM_BITS(0xff800000u);\n  float l = 0.0f;\n")
                .append("  for (long long j = 0; j <= ").append(last).append("; j++) {\n")
                .append("    const float s = NAME_score(q, k, i, j);\n")
                .append("    const float mNew = s > m ? s : m;\n")
                .append("    l = FR_ADD(FR_MUL(l, expf(m - mNew)), expf(s - mNew));\n")
                .append("    m = mNew;\n")
                .append("  }\n")
                .append("  lse[i] = FR_ADD(m, logf(l));\n")
                .append("  float dot = 0.0f;\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) dot = FR_ADD(dot, FR_MUL(NAME_ld(g, i * ").append(d).append(" + c), NAME_ld(o, i * ")
                .append(d).append(" + c)));\n")
                .append("  rowDot[i] = dot;\n}\n\n");
        // dS_ij = P_ij (dP_ij - rowDot_i), P_ij = exp(S_ij - lse_i), dP_ij = dOut_i . v_j
        b.append("FR_FN float NAME_ds(const ").append(type).append("* q, const ").append(type).append("* k, const ").append(type)
                .append("* v, const ").append(type).append("* g, long long i, long long j, const float* lse, const float* rowDot, float* p) {\n")
                .append("  *p = expf(NAME_score(q, k, i, j) - lse[i]);\n")
                .append("  float dp = 0.0f;\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) dp = FR_ADD(dp, FR_MUL(NAME_ld(g, i * ").append(d).append(" + c), NAME_ld(v, j * ")
                .append(d).append(" + c)));\n")
                .append("  return FR_MUL(*p, FR_SUB(dp, rowDot[i]));\n}\n\n");
        // phase 2: dq of row i
        b.append("FR_FN void NAME_dq(long long slice, long long i, ").append(params).append(", const float* lse, const float* rowDot) {\n")
                .append(slicePtrs)
                .append("  float acc[").append(d).append("];\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) acc[c] = 0.0f;\n")
                .append("  for (long long j = 0; j <= ").append(last).append("; j++) {\n")
                .append("    float p;\n")
                .append("    const float ds = FR_MUL(NAME_ds(q, k, v, g, i, j, lse, rowDot, &p), ").append(scaleLit).append(");\n")
                .append("    for (int c = 0; c < ").append(d).append("; c++) acc[c] = FR_ADD(acc[c], FR_MUL(ds, NAME_ld(k, j * ").append(d).append(" + c)));\n")
                .append("  }\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) out0[base + i * ").append(d).append(" + c] = ")
                .append(ElementwiseCodegen.store(t, "acc[c]")).append(";\n}\n\n");
        // phase 3: dk and dv of key row j, over the query rows that see it
        b.append("FR_FN void NAME_dkdv(long long slice, long long j, ").append(params).append(", const float* lse, const float* rowDot) {\n")
                .append(slicePtrs)
                .append("  float dk[").append(d).append("];\n  float dv[").append(d).append("];\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) { dk[c] = 0.0f; dv[c] = 0.0f; }\n")
                .append("  for (long long i = ").append(a.causal() ? "j" : "0").append("; i < ").append(tLen).append("; i++) {\n")
                .append("    float p;\n")
                .append("    const float ds = FR_MUL(NAME_ds(q, k, v, g, i, j, lse, rowDot, &p), ").append(scaleLit).append(");\n")
                .append("    for (int c = 0; c < ").append(d).append("; c++) {\n")
                .append("      dk[c] = FR_ADD(dk[c], FR_MUL(ds, NAME_ld(q, i * ").append(d).append(" + c)));\n")
                .append("      dv[c] = FR_ADD(dv[c], FR_MUL(p, NAME_ld(g, i * ").append(d).append(" + c)));\n")
                .append("    }\n")
                .append("  }\n")
                .append("  for (int c = 0; c < ").append(d).append("; c++) {\n")
                .append("    out0[").append(packed).append("LL + base + j * ").append(d).append(" + c] = ").append(ElementwiseCodegen.store(t, "dk[c]")).append(";\n")
                .append("    out0[").append(2 * packed).append("LL + base + j * ").append(d).append(" + c] = ").append(ElementwiseCodegen.store(t, "dv[c]")).append(";\n")
                .append("  }\n}\n\n");
        String args = "in0, in1, in2, in3, in4, out0";
        // the host replays one slice: the three phases in order
        b.append("FR_FN void NAME_element(long long slice, ").append(params).append(") {\n")
                .append("  float* lse = (float*) malloc(").append(2L * tLen).append(" * sizeof(float));\n  float* rowDot = lse + ").append(tLen).append(";\n")
                .append("  for (long long i = 0; i < ").append(tLen).append("; i++) NAME_stats(slice, i, ").append(args).append(", lse, rowDot);\n")
                .append("  for (long long i = 0; i < ").append(tLen).append("; i++) NAME_dq(slice, i, ").append(args).append(", lse, rowDot);\n")
                .append("  for (long long j = 0; j < ").append(tLen).append("; j++) NAME_dkdv(slice, j, ").append(args).append(", lse, rowDot);\n")
                .append("  free(lse);\n}\n\n");
        b.append("extern \"C\" __global__ void __launch_bounds__(").append(THREADS).append(") NAME(").append(params).append(") {\n")
                .append("  __shared__ float lse[").append(tLen).append("];\n  __shared__ float rowDot[").append(tLen).append("];\n")
                .append("  for (long long slice = blockIdx.x; slice < ").append(slices).append("LL; slice += gridDim.x) {\n")
                .append("    for (long long i = threadIdx.x; i < ").append(tLen).append("; i += blockDim.x) NAME_stats(slice, i, ").append(args)
                .append(", lse, rowDot);\n")
                .append("    __syncthreads();\n")
                .append("    for (long long i = threadIdx.x; i < ").append(tLen).append("; i += blockDim.x) NAME_dq(slice, i, ").append(args)
                .append(", lse, rowDot);\n")
                .append("    for (long long j = threadIdx.x; j < ").append(tLen).append("; j += blockDim.x) NAME_dkdv(slice, j, ").append(args)
                .append(", lse, rowDot);\n")
                .append("    __syncthreads();\n")
                .append("  }\n}\n");
        return finish(node, b.toString(), slices, THREADS);
    }

    private static GeneratedKernel finish(Node node, String template, long items, int blockThreads) {
        return KernelText.named(node.op().printName(), template, List.copyOf(node.inputs()), List.of(node.output()), items, blockThreads);
    }
}
