package dev.frugal.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.nvrtc.HalfHeaders;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.cuda.nvrtc.Nvrtc;
import dev.frugal.runtime.cuda.ElementwiseCodegen;
import dev.frugal.runtime.cuda.GeneratedKernel;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code frugal plan --explain [--arch sm_XX]} adds: the training step's kernel calls without
 * and with fusion, each generated CUDA kernel, and, with a target architecture, whether NVRTC
 * compiles them all for it (no GPU needed).
 *
 * @param step      the step's kernels and call counts
 * @param arch      the target architecture, or null for none
 * @param compileLog null when nothing was compiled; else "" when every kernel compiled, or NVRTC's message
 */
record FusedProgram(StepKernels step, String arch, String compileLog) {
    /**
     * The explanation of {@code step}, compiling its kernels for {@code arch} when one is given.
     *
     * @throws IllegalArgumentException when {@code arch} is given and NVRTC is missing
     */
    static FusedProgram of(StepKernels step, String arch) {
        if (arch == null) {
            return new FusedProgram(step, null, null);
        }
        try {
            Nvrtc.supportedArchs();
        } catch (CudaException | LinkageError e) {
            throw new IllegalArgumentException("--arch " + arch + " compiles the kernels with NVRTC, which is missing: " + e.getMessage()
                    + "; pip install nvidia-cuda-nvrtc, or see frugal devices");
        }
        String log = "";
        try {
            new KernelCompiler(null, HalfHeaders.AUTO).compile("plan_" + arch, ElementwiseCodegen.translationUnit(step.kernels()), arch, List.of());
        } catch (CudaException e) {
            log = e.getMessage();
        }
        return new FusedProgram(step, arch, log);
    }

    /** Whether the kernels compiled (true when no architecture was asked for). */
    boolean compiled() {
        return compileLog == null || compileLog.isEmpty();
    }

    /** The text report. */
    List<String> lines() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "fused program (%s): %d kernel calls per step without fusion, %d with fusion (%.2fx), %d fused groups,"
                + " %d generated kernels (GEMMs and convolutions are cuBLAS/cuDNN calls)",
                step.precision().label(), step.callsUnfused(), step.callsFused(), (double) step.callsFused() / step.callsUnfused(),
                step.fusedGroups(), step.kernels().size()));
        for (GeneratedKernel k : step.kernels()) {
            lines.add("  " + k.name() + " -> " + describe(k.outputs()) + " <- " + k.inputs().size() + " input(s)");
        }
        if (arch != null) {
            lines.add(compiled()
                    ? String.format(Locale.ROOT, "NVRTC %s compiled all %d kernels for %s", Nvrtc.versionString(), step.kernels().size(), arch)
                    : "NVRTC " + Nvrtc.versionString() + " FAILED to compile the kernels for " + arch + ":\n" + compileLog);
        }
        return lines;
    }

    /** Fills the {@code fusion} object of {@code frugal plan --json}. */
    void toJson(ObjectNode o) {
        o.put("precision", step.precision().label());
        o.put("kernels_before", step.callsUnfused());
        o.put("kernels_after", step.callsFused());
        o.put("fused_groups", step.fusedGroups());
        ArrayNode kernels = o.putArray("generated_kernels");
        for (GeneratedKernel k : step.kernels()) {
            ObjectNode n = kernels.addObject();
            n.put("name", k.name());
            n.put("elements", k.elements());
            n.put("inputs", k.inputs().size());
            n.put("outputs", k.outputs().size());
        }
        if (arch != null) {
            o.put("arch", arch);
            o.put("compiled", compiled());
            if (!compiled()) {
                o.put("compile_error", compileLog);
            }
        }
    }

    private static String describe(List<Value> values) {
        List<String> parts = new ArrayList<>();
        for (Value v : values) {
            parts.add(v.dtype().toString().toLowerCase(Locale.ROOT) + v.shape());
        }
        return String.join(", ", parts);
    }
}
