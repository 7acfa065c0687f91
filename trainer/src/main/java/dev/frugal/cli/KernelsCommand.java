package dev.frugal.cli;

import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.nvrtc.HalfHeaders;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.cuda.nvrtc.Nvrtc;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.cuda.ElementwiseCodegen;
import dev.frugal.runtime.cuda.GeneratedKernel;
import dev.frugal.runtime.cuda.KernelLibrary;
import dev.frugal.runtime.precision.Precision;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code frugal kernels [--check] [--arch sm_75,...] [--model SPEC,...] [--precision fp32,...]}:
 * Frugal's generated CUDA kernels, the op library and the kernels of every zoo
 * model's training step, with each step's kernel calls before and after fusion. With
 * {@code --check} every kernel is compiled with the installed NVRTC for each architecture: no
 * GPU is needed, so it runs in CI and tells a user before training whether this NVRTC builds
 * Frugal's kernels for their GPU. Exit 1 when a kernel fails (its name and NVRTC's log are
 * printed).
 */
@Command(name = "kernels", mixinStandardHelpOptions = true,
        description = "List Frugal's generated CUDA kernels (op library and zoo training steps, with kernel calls before and after fusion);"
                + " with --check, compile them all with the installed NVRTC for the given architectures (no GPU needed).")
public final class KernelsCommand implements Callable<Integer> {
    /** Turing to Hopper: what the CUDA 12 and 13 NVRTCs both build. */
    static final List<String> DEFAULT_ARCHS = List.of("sm_75", "sm_80", "sm_86", "sm_89", "sm_90");

    @Option(names = "--check", description = "Compile every kernel with NVRTC for each --arch and report failures.")
    boolean check;
    @Option(names = "--arch", split = ",", paramLabel = "sm_XX", description = "Architectures to compile for (default sm_75,sm_80,sm_86,sm_89,sm_90).")
    List<String> archs;
    @Option(names = "--model", split = ",", paramLabel = "SPEC", description = "Zoo models whose training steps to include (default: every zoo model).")
    List<String> models;
    @Option(names = "--precision", split = ",", paramLabel = "P", description = "Precisions of the training steps (default fp32,fp16,bf16).")
    List<String> precisions;
    @Option(names = "--batch-size", description = "Batch size the steps are traced at (default 8; kernels are specialised to their shapes).")
    int batchSize = 8;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public KernelsCommand() {
    }

    /** Lists (and with --check compiles) the kernels; exit 0, or 1 when a kernel fails to compile (bad options: 2, by the command line's handler). */
    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<String> wantedModels = models == null || models.isEmpty() ? ModelZoo.names() : models;
        List<Precision> wantedPrecisions = new ArrayList<>();
        for (String p : precisions == null || precisions.isEmpty() ? List.of("fp32", "fp16", "bf16") : precisions) {
            wantedPrecisions.add(Precision.parse(p));
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size " + batchSize + ", expected at least 1");
        }
        Map<String, GeneratedKernel> all = new LinkedHashMap<>();
        List<GeneratedKernel> library = KernelLibrary.all();
        library.forEach(k -> all.put(k.name(), k));
        out.printf(Locale.ROOT, "op library: %d kernels (every elementwise op over f32, f16 and bf16, casts, not, sums, maxima and minima,"
                + " copies, fills, gathers and scatter-adds, pooling, argmax, attention, the Philox random draw)%n", library.size());
        List<StepKernels> steps = new ArrayList<>();
        for (String model : wantedModels) {
            for (Precision p : wantedPrecisions) {
                StepKernels s = StepKernels.of(model, p, batchSize);
                s.kernels().forEach(k -> all.putIfAbsent(k.name(), k));
                steps.add(s);
            }
        }
        String title = "TRAINING STEP (batch " + batchSize + ")";
        int width = Math.max(title.length(), steps.stream().mapToInt(s -> s.model().length()).max().orElse(0));
        String row = "%-" + width + "s  %-5s %8s %8s %7s %8s%n";
        out.printf(Locale.ROOT, row, title, "PREC", "UNFUSED", "FUSED", "GROUPS", "KERNELS");
        SortedSet<String> notGenerated = new TreeSet<>();
        for (StepKernels s : steps) {
            out.printf(Locale.ROOT, row, s.model(), s.precision().label(), s.callsUnfused(), s.callsFused(),
                    s.fusedGroups(), s.kernels().size());
            notGenerated.addAll(s.notGenerated());
        }
        if (!notGenerated.isEmpty()) {
            out.println("calls with no generated kernel yet (besides cuBLAS/cuDNN calls and copies): " + String.join(", ", notGenerated));
        }
        out.printf(Locale.ROOT, "%d distinct generated kernels; UNFUSED/FUSED: kernel calls per step without and with fusion"
                + " (GEMMs and convolutions included), GROUPS: fused groups, KERNELS: generated kernels (every op but GEMMs and convolutions)%n",
                all.size());
        if (!check) {
            out.flush();
            return 0;
        }
        List<String> targets = archs == null || archs.isEmpty() ? DEFAULT_ARCHS : archs;
        KernelCompiler compiler = compiler();
        List<GeneratedKernel> kernels = List.copyOf(all.values());
        int failures = 0;
        for (String arch : targets) {
            long start = System.nanoTime();
            List<String> failed = compileAll(compiler, kernels, arch);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (failed.isEmpty()) {
                out.printf(Locale.ROOT, "%s: %d kernels compiled (%.1f s)%n", arch, kernels.size(), seconds);
            } else {
                failures += failed.size();
                out.printf(Locale.ROOT, "%s: %d of %d kernels FAILED%n", arch, failed.size(), kernels.size());
                failed.forEach(f -> out.println("  " + f.replace("\n", "\n    ")));
            }
        }
        out.printf(Locale.ROOT, "NVRTC %s: %s%n", Nvrtc.versionString(), failures == 0 ? "every kernel compiles" : failures + " failure(s)");
        out.flush();
        return failures == 0 ? 0 : 1;
    }

    /**
     * Compiles the kernels in one translation unit for {@code arch}; when that fails, one by one,
     * to name the kernels that fail.
     *
     * @return one entry per failing kernel: its name and NVRTC's message; empty when all compile
     */
    private static List<String> compileAll(KernelCompiler compiler, List<GeneratedKernel> kernels, String arch) {
        try {
            compiler.compile("frugal_kernels_" + arch, ElementwiseCodegen.translationUnit(kernels), arch, List.of());
            return List.of();
        } catch (CudaException together) {
            List<String> failed = new ArrayList<>();
            for (GeneratedKernel k : kernels) {
                try {
                    compiler.compile(k.name(), k.source(), arch, List.of());
                } catch (CudaException e) {
                    failed.add(k.name() + ": " + e.getMessage());
                }
            }
            if (failed.isEmpty()) {
                failed.add("the kernels compile one by one but not together: " + together.getMessage());
            }
            return failed;
        }
    }

    private static KernelCompiler compiler() {
        try {
            Nvrtc.supportedArchs();
        } catch (CudaException | LinkageError e) {
            throw new IllegalArgumentException("--check needs NVRTC (no GPU): " + e.getMessage()
                    + "; install it with pip install nvidia-cuda-nvrtc, or see frugal devices");
        }
        // no cache: a check must compile, not read back what compiled before
        return new KernelCompiler(null, HalfHeaders.AUTO);
    }
}
