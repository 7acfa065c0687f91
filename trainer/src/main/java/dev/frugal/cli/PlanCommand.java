package dev.frugal.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.memory.ByteFormat;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.trainer.Distillation;
import dev.frugal.trainer.ImageClassification;
import dev.frugal.trainer.MemoryBudgetPlanner;
import dev.frugal.trainer.TrainingTask;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.precision.AutocastReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code frugal plan}: the memory plan of {@code frugal train}'s training step, without training
 * or allocating it: the predicted peak by class, the forward segments recomputed to fit a
 * budget, the recompute overhead, and the largest batch that fits. The configuration is built
 * as {@code frugal train} builds it (defaults, the model's recipe, {@code --config}, flags), so
 * the optimizer state counted is the one training would hold.
 *
 * <p>The evaluation programs coexist with the training step, so the plan counts them too: the
 * test set in the batches {@code frugal train} evaluates it in (1000, or 100 under a memory
 * budget; Fashion-MNIST's 10,000 test images divide evenly; for a language model, the held-out
 * text in batches of 16 windows, or 4 under a budget), planned first,
 * the training step getting the rest of the budget ({@link MemoryBudgetPlanner}). The peaks
 * printed ({@code predicted_peak_bytes}, {@code unplanned_peak_bytes}, {@code smallest_peak_bytes})
 * include them; the classes ({@code activation_bytes} and so on) are the training step's.
 *
 * <p>Exit 0 when the plan fits (always without a budget), 1 when it does not, 2 for bad input.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Plan the memory of training a model: predicted peak by class, recomputed (checkpointed) segments, "
                + "recompute overhead, and the largest batch that fits --memory-budget. Allocates nothing.",
                "Exit 0 when the plan fits, 1 when it does not."})
public final class PlanCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "SPEC", description = "Zoo model, NAME or NAME:key=value,... (default cnn-small; see frugal models).")
    String model;
    @Option(names = "--batch-size", paramLabel = "N|auto", description = "Training batch size (default: the model's recipe, else 128); auto: the largest that fits --memory-budget.")
    String batchSize;
    @Option(names = "--memory-budget", paramLabel = "SIZE", description = "Most memory training may take in all, e.g. 2GiB or 512MiB (default: none; the plan then always fits).")
    String memoryBudget;
    @Option(names = "--optimizer", description = "sgd or adamw (default: the model's recipe, else sgd); AdamW holds two state tensors per parameter, SGD with momentum one.")
    String optimizer;
    @Option(names = "--clip-norm", description = "Clip gradients to this global norm (default 0: off).")
    Double clipNorm;
    @Option(names = "--precision", description = "fp32, fp16 or bf16: plans the step the autocast pass makes, and prints which ops run in which dtype.")
    String precision;
    @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON file of frugal train options (it overrides the model's recipe; flags override it).")
    Path config;
    @Option(names = "--json", description = "Print one JSON object (byte counts as numbers) instead of the text report.")
    boolean json;
    @Option(names = "--explain", description = "Also print the fused program: kernel calls per step without and with fusion, and each"
            + " generated CUDA kernel (fused groups and single elementwise ops) with its output.")
    boolean explain;
    @Option(names = "--arch", paramLabel = "sm_XX", description = "With --explain: compile the generated kernels with the installed NVRTC"
            + " for this GPU architecture (no GPU needed) and report the result.")
    String arch;
    @Option(names = "--device", description = "cpu (default) or cuda: with cuda, --explain compiles the generated kernels for the GPU's"
            + " architecture (device 0), or for --arch where there is no GPU.")
    String device;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public PlanCommand() {
    }

    /** Plans and prints; exit 0 when the plan fits, 1 when it does not. */
    @Override
    public Integer call() throws IOException {
        Map<String, Object> flags = new LinkedHashMap<>();
        put(flags, "model", model);
        put(flags, "batch-size", TrainCommand.batchSizeFlag(batchSize));
        put(flags, "memory-budget", memoryBudget);
        put(flags, "optimizer", optimizer);
        put(flags, "clip-norm", clipNorm);
        put(flags, "precision", precision);
        Map<String, Object> file = config != null ? ConfigFiles.readOverrides(config) : Map.of();
        TrainConfig cfg = TrainConfig.layered(file, flags).resolved();
        TrainCommand.checkSupported(cfg);
        long budget = cfg.memoryBudgetBytes();
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = ModelZoo.create(cfg.model(), cfg.seed());
             Model teacher = cfg.teacher() == null ? null : TrainCommand.Teacher.load(cfg).model()) {
            // the model's own task: a language model's step reads token windows, whatever the dataset option says
            TrainingTask task = TrainingTask.forModel(m);
            if (teacher != null) {
                // a config file's teacher: the step that frugal train would compile runs it too
                task = new Distillation((ImageClassification) task, teacher.module(),
                        cfg.distillTemperature(), cfg.distillAlpha());
            }
            int evalBatch = TrainCommand.evaluationBatch(budget > 0, task);
            MemoryBudgetPlanner planner = new MemoryBudgetPlanner(m.module(), task, TrainCommand.stepConfig(cfg), budget,
                    List.of(evalBatch));
            Integer max = budget > 0 ? planner.maxBatchSize() : null;
            int batch = cfg.autoBatchSize() ? Math.max(1, max) : cfg.batchSize();
            MemoryPlan plan = planner.plan(batch);
            long eval = planner.evaluationBytes();
            AutocastReport autocast = planner.autocastReport(batch);
            if (arch != null && !explain) {
                throw new IllegalArgumentException("--arch " + arch + " compiles the kernels --explain lists; add --explain");
            }
            String target = targetArch();
            FusedProgram fused = explain ? FusedProgram.of(StepKernels.of(m, task, batch, TrainCommand.stepConfig(cfg)), target) : null;
            if (json) {
                out.println(toJson(cfg, batch, budget, plan, eval, evalBatch, max, autocast, fused));
            } else {
                printText(out, cfg, batch, budget, plan, eval, evalBatch, max);
                if (cfg.mixedPrecision().precision().isMixed()) {
                    out.println("precision of the training step:");
                    autocast.lines().forEach(out::println);
                }
                if (fused != null) {
                    fused.lines().forEach(out::println);
                }
            }
            if (fused != null && !fused.compiled()) {
                out.flush();
                return 1;
            }
            out.flush();
            return plan.fits() ? 0 : 1;
        }
    }

    /** The architecture to compile for: --arch, else with --device cuda the GPU's, else none. */
    private String targetArch() {
        String d = device == null ? "cpu" : device.strip().toLowerCase(Locale.ROOT);
        if (!d.equals("cpu") && !d.equals("cuda")) {
            throw new IllegalArgumentException("--device " + device + ": expected cpu or cuda");
        }
        if (arch != null || d.equals("cpu")) {
            return arch;
        }
        try {
            if (CudaDriver.deviceCount() > 0) {
                return KernelCompiler.archForDevice(CudaDriver.device(0));
            }
        } catch (CudaException | LinkageError e) {
            // no driver or no GPU: the message below says what to do
        }
        throw new IllegalArgumentException("--device cuda: no GPU here to take the architecture from; give the target, e.g. --arch sm_86");
    }

    private static void put(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }

    private static void printText(PrintWriter out, TrainConfig cfg, int batch, long budget, MemoryPlan plan, long eval, int evalBatch,
                                  Integer max) {
        out.printf(Locale.ROOT, "memory plan of training %s at batch size %d with %s (%s)%n", cfg.model(), batch, cfg.optimizer(), cfg.precision());
        out.printf(Locale.ROOT, "evaluation programs (batches of %d): %s, planned first%s%n", evalBatch, ByteFormat.exact(eval),
                budget > 0 ? "; the training step gets the rest of the budget, " + ByteFormat.exact(Math.max(0, budget - eval)) : "");
        out.println("training step:");
        out.print(plan.explain());
        out.printf(Locale.ROOT, "predicted peak with evaluation: %s%n", ByteFormat.exact(plan.predictedPeakBytes() + eval));
        if (budget > 0) {
            out.printf(Locale.ROOT, "memory budget %s: %s%n", ByteFormat.exact(budget), plan.fits() ? "fits" : "does NOT fit");
            out.printf(Locale.ROOT, "largest batch that fits: %s%n", max == 0 ? "none (not even a batch of 1)" : max.toString());
        } else {
            out.println("no memory budget: nothing is recomputed and the plan fits by definition; --memory-budget SIZE finds the largest batch that fits");
        }
    }

    /** The plan as JSON; the peaks include the evaluation programs, the classes are the training step's. */
    static String toJson(TrainConfig cfg, int batch, long budget, MemoryPlan plan, long eval, int evalBatch, Integer max,
                         AutocastReport autocast, FusedProgram fused) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode o = mapper.createObjectNode();
        o.put("model", cfg.model());
        o.put("batch_size", batch);
        o.put("optimizer", cfg.optimizer());
        o.put("precision", cfg.precision());
        ObjectNode cast = o.putObject("autocast");
        DType low = autocast.precision().lowDtype();
        cast.put("ops_low_precision", autocast.precision().isMixed() ? autocast.opsIn(low) : 0);
        cast.put("ops_f32", autocast.opsIn(DType.F32));
        cast.put("casts_inserted", autocast.casts());
        cast.put("parameters_cast", autocast.parameterCasts());
        ObjectNode byOp = cast.putObject("by_op");
        autocast.opsByDtype().forEach((op, counts) -> {
            ObjectNode c = byOp.putObject(op.printName());
            counts.forEach((t, n) -> c.put(t.toString().toLowerCase(Locale.ROOT), n));
        });
        if (budget > 0) {
            o.put("budget_bytes", budget);
        } else {
            o.putNull("budget_bytes");
        }
        o.put("fits", plan.fits());
        if (max != null) {
            o.put("max_batch_size", max);
        } else {
            o.putNull("max_batch_size"); // no budget: no limit to search for
        }
        o.put("predicted_peak_bytes", plan.predictedPeakBytes() + eval);
        o.put("unplanned_peak_bytes", plan.unplannedPeakBytes() + eval);
        if (plan.smallestPeakBytes() >= 0) {
            o.put("smallest_peak_bytes", plan.smallestPeakBytes() + eval);
        } else {
            o.putNull("smallest_peak_bytes"); // the budget is met
        }
        o.put("recompute_flops_ratio", plan.recomputeFlopsRatio());
        o.put("parameter_bytes", plan.parameterBytes());
        o.put("state_bytes", plan.stateBytes());
        o.put("input_bytes", plan.inputBytes());
        o.put("activation_bytes", plan.activationBytes());
        o.put("unplanned_activation_bytes", plan.unplannedActivationBytes());
        o.put("workspace_bytes", plan.workspaceBytes());
        o.put("staging_bytes", plan.stagingBytes());
        o.put("evaluation_bytes", eval);
        o.put("evaluation_batch_size", evalBatch);
        if (plan.budgetBytes() >= 0) {
            o.put("step_budget_bytes", plan.budgetBytes());
        } else {
            o.putNull("step_budget_bytes");
        }
        o.put("step_flops", plan.stepFlops());
        o.put("recompute_flops", plan.recomputeFlops());
        ArrayNode checkpoints = o.putArray("checkpoints");
        plan.checkpoints().forEach(checkpoints::add);
        if (fused != null) {
            fused.toJson(o.putObject("fusion"));
        }
        try {
            return mapper.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
