package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.cuda.ElementwiseCodegen;
import dev.frugal.runtime.cuda.GeneratedKernel;
import dev.frugal.runtime.cuda.KernelGenerators;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.TrainerConfig;
import dev.frugal.trainer.TrainingStepGraph;
import dev.frugal.trainer.TrainingTask;
import dev.frugal.trainer.amp.MixedPrecision;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The generated CUDA kernels of one zoo model's training step (forward, backward and update:
 * plain SGD for {@code frugal kernels}, the run's optimizer for {@code frugal plan --explain}) in
 * one precision, with the step's kernel calls with and without fusion. The step is
 * compiled for the CPU, whose fusion pass chooses the groups; each group
 * ({@link ElementwiseCodegen}, or {@link dev.frugal.runtime.cuda.ReductionCodegen} for one that ends in a
 * reduction) and each other call ({@link KernelGenerators}) becomes one generated
 * kernel. GEMMs and convolutions are cuBLAS and cuDNN calls, not generated.
 *
 * @param model        the model spec
 * @param precision    the step's precision
 * @param kernels      the generated kernels, in call order
 * @param callsUnfused kernel calls per step without fusion
 * @param callsFused   kernel calls per step with fusion
 * @param fusedGroups  fused groups among the fused step's calls
 * @param notGenerated the ops (with their dtype) of calls no generator covers yet, besides cuBLAS/cuDNN calls and reshapes
 */
record StepKernels(String model, Precision precision, List<GeneratedKernel> kernels, int callsUnfused, int callsFused, int fusedGroups,
                   List<String> notGenerated) {
    /**
     * Traces and compiles the step of {@code spec} at {@code batchSize}.
     *
     * @throws IllegalArgumentException for a bad spec
     */
    static StepKernels of(String spec, Precision precision, int batchSize) {
        TrainerConfig config = TrainerConfig.defaults().withMixedPrecision(MixedPrecision.of(precision));
        try (Model m = ModelZoo.create(spec, 0)) {
            return of(m, TrainingTask.forModel(m), batchSize, config);
        }
    }

    /**
     * Traces and compiles the step of an initialised model on {@code task} as {@code config}
     * configures it (optimizer, clipping, precision, freezing, pruning).
     */
    static StepKernels of(Model m, TrainingTask task, int batchSize, TrainerConfig config) {
        Precision precision = config.mixedPrecision().precision();
        try (TrainingStepGraph step = TrainingStepGraph.trace(m.module(), task, batchSize, config)) {
            // planned for a GPU: groups may end in reductions (the CPU's own runs leave them separate)
            Executor executor = TrainingStepGraph.executor(Executor.cpu(), config).withReductionFusion(true);
            int unfused;
            try (Program p = executor.withFusion(false).compile(step.graph(), step.outputs())) {
                unfused = p.stepCount();
            }
            try (Program p = executor.compile(step.graph(), step.outputs())) {
                List<GeneratedKernel> kernels = new ArrayList<>();
                for (FusedGroup g : p.fusedGroups()) {
                    kernels.add(KernelGenerators.generate(g));
                }
                // ops no generator covers yet (beyond cuBLAS/cuDNN calls and reshapes, which are views)
                SortedSet<String> missing = new TreeSet<>();
                for (Node n : p.unfusedKernelNodes()) {
                    var kernel = KernelGenerators.generate(n);
                    if (kernel.isPresent()) {
                        kernels.add(kernel.get());
                    } else if (!KernelGenerators.isLibraryCall(n) && n.op() != Op.RESHAPE) {
                        missing.add(n.op().printName() + " " + n.output().dtype().toString().toLowerCase(Locale.ROOT));
                    }
                }
                return new StepKernels(m.spec().toString(), precision, kernels, unfused, p.stepCount(), p.fusedGroups().size(),
                        List.copyOf(missing));
            }
        }
    }
}
