package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.ByteFormat;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.memory.MemoryStats;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryBudgetExceededException;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import dev.frugal.trainer.optim.AdamW;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The memory plan against the memory manager, for every zoo model: one real training step (and
 * the evaluation it ends with) on random data, through a trainer whose programs come from a
 * memory manager of the test's own, must peak where the plan says, with and without a budget
 * that forces recomputation. Also the planner's search and its errors, and the trainer's refusal
 * to start when the budget cannot be met.
 */
class MemoryBudgetTrainingTest {
    private static final int BATCH = 32;
    /** Test samples: a full evaluation batch of 32 and a last partial one of 18, so two evaluation programs. */
    private static final int TEST_SAMPLES = 50;

    static DataLoader trainLoader(int batch) {
        return new DataLoader(TrainerTest.synthetic(2 * batch, 5), LoaderOptions.of(batch).withSeed(1).withLastBatch(LastBatchPolicy.DROP));
    }

    static DataLoader testLoader() {
        return new DataLoader(TrainerTest.synthetic(TEST_SAMPLES, 6), LoaderOptions.of(BATCH).withShuffle(false));
    }

    static TrainerConfig oneStep() {
        return TrainerConfig.defaults().withMaxSteps(1).withOptimizer(new AdamW(0.9, 0.999, 1e-8, 0.0)).withLearningRate(1e-3);
    }

    /**
     * Measured peak vs the prediction. The measure is the memory manager's peak of requested bytes:
     * the plan counts the bytes the programs ask for, while allocated bytes add the allocator's
     * rounding of every request up to 512 bytes (a few KiB over dozens of workspaces and buffers),
     * which says nothing about the planner. Allocated bytes are printed too.
     */
    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn-small", "mobilenet-tiny", "deep-mlp:depth=8,width=128"})
    void measuredPeakIsThePlannedPeak(String spec) throws IOException {
        // deep-mlp at batch 32 holds far more in parameters, Adam's moments and gradients than in
        // activations (32 x 128 floats a layer), so recomputing could not lower its peak; at 256
        // its activations dominate and it checkpoints.
        int batch = spec.startsWith("deep-mlp") ? 256 : BATCH;
        try (Model m = ModelZoo.create(spec, 42); DataLoader test = testLoader()) {
            List<Integer> evalSizes = test.batchSizes();
            assertEquals(List.of(18, 32), evalSizes);

            Measured none = trainOneStep(m, batch, oneStep().withMemoryBudget(-1, evalSizes));
            assertFalse(none.plan.checkpointed(), none.plan.explain());
            long unplannedPeak = none.predictedPeak;

            MemoryBudgetPlanner planner = new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), (long) (unplannedPeak * 0.6), evalSizes);
            MemoryPlan at60 = planner.plan(batch);
            long budget = planner.budget();
            String note = "60% met";
            if (!at60.fits()) {
                // Not every model can reach 60% by recomputation (the evaluation programs, the
                // parameters and optimizer state and the backward pass's own gradients stay): use the
                // smallest budget the planner can meet instead, which still checkpoints.
                budget = at60.smallestPeakBytes() + planner.evaluationBytes();
                note = "60% cannot be met: the smallest budget that fits";
            }
            Measured tight = trainOneStep(m, batch, oneStep().withMemoryBudget(budget, evalSizes));
            assertTrue(tight.predictedPeak <= budget, tight.plan.explain());
            MemoryPlan planned = new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), budget, evalSizes).plan(batch);
            assertEquals(planned, tight.plan, "the planner plans exactly the step the trainer compiles");
            if (spec.startsWith("deep-mlp") || spec.equals("cnn-small")) {
                assertTrue(tight.plan.checkpointed(), spec + " under " + note + ":\n" + tight.plan.explain());
            }
            System.out.printf(Locale.ROOT, "%-28s batch %d, evaluation batches %s%n", spec, batch, evalSizes);
            System.out.printf(Locale.ROOT, "%-28s no budget: predicted %s, measured requested %s (allocated %s)%n", spec,
                    ByteFormat.exact(none.predictedManaged), ByteFormat.exact(none.stats.peakRequestedBytes()),
                    ByteFormat.exact(none.stats.peakAllocatedBytes()));
            System.out.printf(Locale.ROOT, "%-28s budget %s (%s, %.0f%% of the unplanned peak %s): predicted %s, measured requested %s"
                            + " (allocated %s), checkpointed %s, recompute %.3fx%n", spec, ByteFormat.exact(budget), note,
                    100.0 * budget / unplannedPeak, ByteFormat.exact(unplannedPeak), ByteFormat.exact(tight.predictedManaged),
                    ByteFormat.exact(tight.stats.peakRequestedBytes()), ByteFormat.exact(tight.stats.peakAllocatedBytes()),
                    tight.plan.checkpointed(), tight.plan.recomputeFlopsRatio());
        }
    }

    /** What one training step and its evaluation measured, and what was predicted. */
    record Measured(MemoryPlan plan, long predictedManaged, long predictedPeak, MemoryStats stats) {
    }

    private static Measured trainOneStep(Model m, int batch, TrainerConfig config) throws IOException {
        try (CachingAllocator memory = new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults());
             DataLoader train = trainLoader(batch);
             DataLoader test = testLoader();
             Trainer trainer = new Trainer(m.module(), m.inputShape(), batch, config, new Executor(new CpuBackend(memory)))) {
            long compiled = memory.snapshot().requestedBytes();
            FitResult r = trainer.fit(train, test, null);
            assertEquals(1, r.steps());
            assertNotNull(r.finalEvaluation(), "the step is followed by an evaluation");
            MemoryStats stats = memory.snapshot();
            long predicted = trainer.memoryPlan().managedBytes() + trainer.evaluationBytes();
            assertEquals(compiled, stats.requestedBytes(), "nothing is allocated after compiling: not in the step, not in the evaluation");
            long tolerance = Math.max(64 * 1024, predicted / 20);
            assertEquals(predicted, stats.peakRequestedBytes(), tolerance, "measured peak vs the plan (within 5% or 64 KiB):\n"
                    + trainer.memoryPlan().explain() + "evaluation programs: " + trainer.evaluationBytes() + "\n" + stats);
            return new Measured(trainer.memoryPlan(), predicted, trainer.predictedPeakBytes(), stats);
        }
    }

    @Test
    void aTrainerWithABudgetHasItsOwnLimitedMemoryManagerAndRefusesBeforeAnyStep() throws IOException {
        try (Model m = ModelZoo.create("deep-mlp:depth=8,width=128", 42); DataLoader train = trainLoader(BATCH); DataLoader test = testLoader()) {
            List<Integer> evalSizes = test.batchSizes();
            MemoryBudgetPlanner roomy = new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), -1, evalSizes);
            MemoryPlan unplanned = roomy.plan(BATCH);
            long whole = unplanned.predictedPeakBytes() + roomy.evaluationBytes();
            // Exactly the unplanned peak: it fits without recomputing.
            long budget = whole;
            try (Trainer trainer = new Trainer(m.module(), m.inputShape(), BATCH, oneStep().withMemoryBudget(budget, evalSizes))) {
                MemoryStats stats = trainer.memoryStats();
                assertNotNull(stats, "a budget gives the trainer its own memory manager");
                assertEquals(budget, stats.memoryLimit(), "the memory manager's limit is the budget");
                assertTrue(stats.allocatedBytes() >= trainer.boundBytes(), "and it counts the bound tensors");
                assertEquals(whole, trainer.predictedPeakBytes());
                trainer.fit(train, test, null);
                assertEquals(stats.allocatedBytes(), trainer.memoryStats().allocatedBytes(), "nothing allocated in the run");
                assertTrue(trainer.peakDeviceBytes() >= trainer.predictedPeakBytes());
                assertTrue(trainer.peakDeviceBytes() <= budget + 64 * 1024, trainer.peakDeviceBytes() + " > " + budget + " (+ 512-byte rounding)");
                // evaluation data of another batch size was not planned into the budget
                try (DataLoader other = new DataLoader(TrainerTest.synthetic(20, 7), LoaderOptions.of(20))) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer.evaluate(other));
                    assertTrue(e.getMessage().contains("[20]"), e.getMessage());
                }
            }
            long tooSmall = unplanned.boundBytes() + unplanned.inputBytes();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Trainer(m.module(), m.inputShape(), BATCH, oneStep().withMemoryBudget(tooSmall, evalSizes)));
            assertTrue(e.getCause() instanceof MemoryBudgetExceededException, e.toString());
            assertTrue(e.getMessage().contains("evaluation programs") && e.getMessage().contains("predicted peak"), e.getMessage());

            IllegalArgumentException below = assertThrows(IllegalArgumentException.class,
                    () -> new Trainer(m.module(), m.inputShape(), BATCH, oneStep().withMemoryBudget(1000, evalSizes)));
            assertTrue(below.getMessage().contains("of parameters") && below.getMessage().contains("optimizer state"), below.getMessage());
        }
    }

    @Test
    void maxBatchSizeIsTheLargestThatFits() {
        try (Model m = ModelZoo.create("mlp", 42)) {
            boolean mode = m.module().isTraining();
            List<Integer> evalSizes = List.of(100);
            MemoryBudgetPlanner roomy = new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), -1, evalSizes);
            assertEquals(MemoryBudgetPlanner.MAX_BATCH_SIZE, roomy.maxBatchSize(), "no budget: no limit");
            long budget = roomy.plan(200).predictedPeakBytes() + roomy.evaluationBytes();
            MemoryBudgetPlanner planner = new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), budget, evalSizes);
            int max = planner.maxBatchSize();
            assertTrue(max >= 200, "a batch of 200 fits by construction, got " + max);
            assertTrue(planner.plan(max).fits());
            assertFalse(planner.plan(max + 1).fits());

            MemoryPlan one = planner.plan(1);
            long justBound = one.boundBytes() + 1;
            assertEquals(0, new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), justBound, evalSizes).maxBatchSize());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new MemoryBudgetPlanner(m.module(), m.inputShape(), oneStep(), one.parameterBytes() / 2, evalSizes).plan(1));
            assertTrue(e.getMessage().contains(ByteFormat.exact(one.parameterBytes())), e.getMessage());
            IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> planner.plan(0));
            assertTrue(zero.getMessage().contains("batch size 0"), zero.getMessage());
            assertEquals(mode, m.module().isTraining(), "planning puts the module's mode back");
        }
    }
}
