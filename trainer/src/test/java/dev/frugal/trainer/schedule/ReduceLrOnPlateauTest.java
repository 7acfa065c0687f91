package dev.frugal.trainer.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.trainer.schedule.ReduceLrOnPlateau.Mode;
import dev.frugal.trainer.schedule.ReduceLrOnPlateau.Settings;
import dev.frugal.trainer.schedule.ReduceLrOnPlateau.ThresholdMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ReduceLrOnPlateau} against PyTorch's {@code torch.optim.lr_scheduler.ReduceLROnPlateau}
 * (torch 2.13.0+cpu) on hand-made metric sequences. The expected rates were produced by:
 *
 * <pre>{@code
 * import torch
 * def run(values, lr=0.1, **kw):
 *     p = torch.nn.Parameter(torch.zeros(1))
 *     opt = torch.optim.SGD([p], lr=lr)
 *     s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
 *     out = []
 *     for v in values:
 *         s.step(v)
 *         out.append(opt.param_groups[0]['lr'])
 *     return out
 * }</pre>
 *
 * each case below naming its keyword arguments. Evaluation {@code i} is made after step
 * {@code 10 * i}; the rate PyTorch reports after evaluation {@code i} is the rate of the steps up
 * to the next evaluation.
 */
class ReduceLrOnPlateauTest {
    private static final double NAN = Double.NaN;

    private static void assertMatchesPyTorch(double baseLr, Settings settings, double[] metrics, double[] torchLrs) {
        ReduceLrOnPlateau plateau = new ReduceLrOnPlateau(new ConstantSchedule(baseLr), settings);
        for (int i = 0; i < metrics.length; i++) {
            plateau.update(10L * i, metrics[i]);
            for (long step = 10L * i; step < 10L * (i + 1); step++) {
                double got = plateau.lr(step);
                int at = i;
                assertEquals(torchLrs[i], got, Math.abs(torchLrs[i]) * 1e-12,
                    () -> "after evaluation " + at + " (metric " + metrics[at] + "): " + settings.describe());
            }
        }
    }

    @Test
    void minModeRelativeThresholdCooldownAndMinLr() {
        // lr=0.1, mode='min', factor=0.5, patience=2, threshold=0.01, threshold_mode='rel', cooldown=1, min_lr=0.01
        double[] metrics = {1.0, 0.9, 0.895, 0.893, 0.892, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.79, 0.795, 0.8, 0.8, 0.8, 0.8, 0.8,
            0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};
        double[] torch = {0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125,
            0.0125, 0.0125, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01};
        assertMatchesPyTorch(0.1, new Settings("test_loss", Mode.MIN, 0.5, 2, 0.01, ThresholdMode.REL, 1, 0.01, 1e-8), metrics, torch);
    }

    @Test
    void pyTorchDefaults() {
        // lr=0.05, all defaults: mode='min', factor=0.1, patience=10, threshold=1e-4 rel, cooldown=0, min_lr=0, eps=1e-8;
        // 1.39995 is within the relative threshold of 1.4, so it is no improvement
        double[] metrics = new double[27];
        metrics[0] = 2.0;
        metrics[1] = 1.5;
        metrics[2] = 1.4;
        for (int i = 3; i < 15; i++) {
            metrics[i] = 1.39995;
        }
        metrics[15] = 1.2;
        for (int i = 16; i < 27; i++) {
            metrics[i] = 1.3;
        }
        double[] torch = new double[27];
        for (int i = 0; i < 27; i++) {
            torch[i] = i < 13 ? 0.05 : i < 26 ? 0.005000000000000001 : 0.0005000000000000001;
        }
        Settings defaults = Settings.parse("plateau");
        assertEquals(Settings.defaults("test_loss"), defaults);
        assertEquals(new Settings("test_loss", Mode.MIN, 0.1, 10, 1e-4, ThresholdMode.REL, 0, 0.0, 1e-8), defaults);
        assertMatchesPyTorch(0.05, defaults, metrics, torch);
    }

    @Test
    void maxModeAbsoluteThresholdWithCooldown() {
        // lr=1.0, mode='max', factor=0.3, patience=1, threshold=0.05, threshold_mode='abs', cooldown=2
        double[] metrics = {0.5, 0.54, 0.56, 0.6, 0.62, 0.7, 0.71, 0.72, 0.74, 0.76, 0.8, 0.8, 0.8, 0.8, 0.9};
        double[] torch = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.3, 0.3, 0.3, 0.09, 0.09, 0.09, 0.09};
        assertMatchesPyTorch(1.0, Settings.parse("plateau:metric=test_accuracy,factor=0.3,patience=1,threshold=0.05,"
            + "threshold-mode=abs,cooldown=2"), metrics, torch);
    }

    @Test
    void changesSmallerThanEpsAreSkipped() {
        // lr=5e-8, factor=0.5, patience=0: the third halving would change the rate by 6.25e-9 < eps
        double[] metrics = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
        double[] torch = {5e-08, 2.5e-08, 1.25e-08, 1.25e-08, 1.25e-08, 1.25e-08};
        assertMatchesPyTorch(5e-8, Settings.parse("plateau:factor=0.5,patience=0"), metrics, torch);
    }

    @Test
    void nanAndInfinityNeverImprove() {
        // lr=0.1, factor=0.5, patience=1, threshold_mode='abs', threshold=0.0
        double[] metrics = {NAN, NAN, 1.0, NAN, Double.POSITIVE_INFINITY, 0.5, NAN, NAN, NAN};
        double[] torch = {0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125};
        assertMatchesPyTorch(0.1, Settings.parse("plateau:factor=0.5,patience=1,threshold-mode=abs,threshold=0"), metrics, torch);
    }

    @Test
    void maxModeRelativeThresholdFloorsAtMinLr() {
        // lr=0.2, mode='max', factor=0.1, patience=1, threshold=0.1, min_lr=0.01
        double[] metrics = {0.5, 0.54, 0.56, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6};
        double[] torch = {0.2, 0.2, 0.2, 0.2, 0.020000000000000004, 0.020000000000000004, 0.01, 0.01, 0.01};
        assertMatchesPyTorch(0.2, Settings.parse("plateau:metric=test_accuracy,mode=max,factor=0.1,patience=1,threshold=0.1,min=0.01"),
            metrics, torch);
    }

    @Test
    void theModeFollowsTheMetricUnlessGiven() {
        assertEquals(Mode.MAX, Settings.parse("plateau:metric=test_accuracy").mode());
        assertEquals(Mode.MIN, Settings.parse("plateau:metric=train_loss").mode());
        assertEquals(Mode.MIN, Settings.parse("plateau:metric=test_accuracy,mode=min").mode());
    }

    @Test
    void parsesTheIssuesSpecAndDescribesItReadably() {
        Settings s = Settings.parse(" plateau:metric=test_loss,factor=0.5,patience=2,threshold=0.01,cooldown=1,min=1e-5,mode=min ");
        assertEquals(new Settings("test_loss", Mode.MIN, 0.5, 2, 0.01, ThresholdMode.REL, 1, 1e-5, 1e-8), s);
        assertEquals(s, Settings.parse(s.describe()));
        ReduceLrOnPlateau p = new ReduceLrOnPlateau(new ConstantSchedule(0.1), s);
        assertTrue(p.describe().startsWith("constant(lr=0.1) with plateau:metric=test_loss,"), p.describe());
    }

    @Test
    void badSpecsNameTheKeyAndValue() {
        assertMessage("plateau:patience=2,lr=3", "unknown key 'lr'");
        assertMessage("plateau:factor=half", "factor must be a number, got 'half'");
        assertMessage("plateau:factor=1", "factor must be above 0 and below 1, got 1.0");
        assertMessage("plateau:factor=0", "factor must be above 0 and below 1");
        assertMessage("plateau:patience=-1", "patience must be 0 or more, got -1");
        assertMessage("plateau:patience=2.5", "patience must be a whole number of evaluations, got '2.5'");
        assertMessage("plateau:cooldown=x", "cooldown must be a whole number of evaluations, got 'x'");
        assertMessage("plateau:threshold=-0.1", "threshold must be a finite number >= 0, got -0.1");
        assertMessage("plateau:min=NaN", "min must be a finite number >= 0, got NaN");
        assertMessage("plateau:eps=-1", "eps must be a finite number >= 0");
        assertMessage("plateau:mode=up", "mode must be min or max, got 'up'");
        assertMessage("plateau:threshold-mode=pct", "threshold-mode must be rel or abs, got 'pct'");
        assertMessage("plateau:metric=val_loss", "unknown metric 'val_loss'; every evaluation carries: test_loss, test_accuracy, train_loss");
        assertMessage("plateau:patience=1,patience=2", "key 'patience' given twice");
        assertMessage("plateau:patience", "expected key=value, got 'patience'");
        assertMessage("cosine:patience=1", "expected a spec starting with 'plateau'");
        assertMessage(" ", "empty plateau spec");
    }

    private static void assertMessage(String spec, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Settings.parse(spec), spec);
        assertTrue(e.getMessage().contains(part), () -> spec + ": " + e.getMessage());
    }

    @Test
    void scalesAnyBaseScheduleAndFloorsAtTheRateOfTheNextStep() {
        LrSchedule step = LrSchedules.parse("step:every=100,gamma=0.5", 0.4, 0);
        ReduceLrOnPlateau p = new ReduceLrOnPlateau(step, Settings.parse("plateau:factor=0.5,patience=0,min=0.05"));
        assertFalse(p.update(50, 1.0));
        assertEquals(0.4, p.lr(50));
        assertEquals(0.2, p.lr(150));
        assertTrue(p.update(60, 1.0), "no improvement, patience 0");
        assertEquals(0.5, p.scale());
        assertEquals(0.2, p.lr(60), 1e-15);
        assertEquals(0.1, p.lr(150), 1e-15, "the base schedule's own decay multiplies");
        // at step 120 the base rate is 0.2, so the floor 0.05 is a scale of 0.25
        assertTrue(p.update(120, 1.0));
        assertEquals(0.05, p.lr(120), 1e-15);
        assertEquals(0.25, p.scale(), 1e-15);
        assertFalse(p.update(130, 1.0), "already at min_lr");
        assertEquals(2, p.reductions());
        assertEquals(4, p.evaluations());
    }

    @Test
    void aBaseRateOfZeroIsNotReduced() {
        ReduceLrOnPlateau p = new ReduceLrOnPlateau(new LrSchedule() {
            @Override
            public double lr(long step) {
                return step == 0 ? 0.0 : 0.1;
            }

            @Override
            public String describe() {
                return "warm-up";
            }
        }, Settings.parse("plateau:patience=0"));
        p.update(0, 1.0);
        assertFalse(p.update(0, 2.0));
        assertEquals(1.0, p.scale());
    }

    @Test
    void exposesPyTorchsCounters() {
        ReduceLrOnPlateau p = new ReduceLrOnPlateau(new ConstantSchedule(1), Settings.parse("plateau:patience=2,cooldown=2"));
        assertEquals(Double.POSITIVE_INFINITY, p.best());
        p.update(10, 3.0);
        p.update(20, 3.0);
        p.update(30, 3.0);
        assertEquals(3.0, p.best());
        assertEquals(2, p.badEvaluations());
        p.update(40, 3.0);
        assertEquals(0.1, p.scale(), 1e-15);
        assertEquals(2, p.cooldownLeft());
        assertEquals(0, p.badEvaluations());
        p.update(50, 3.0);
        assertEquals(1, p.cooldownLeft());
        assertEquals(0, p.badEvaluations(), "bad evaluations during the cooldown are not counted");
    }

    @Test
    void replayingTheHistoryRebuildsTheSameState() {
        Settings s = Settings.parse("plateau:factor=0.5,patience=1,cooldown=1,min=0.02");
        double[] metrics = {1.0, 0.9, 0.95, 0.97, 0.96, 0.5, 0.6, 0.7, 0.8};
        ReduceLrOnPlateau live = new ReduceLrOnPlateau(new ConstantSchedule(0.1), s);
        List<EvaluationHistory.Entry> history = new ArrayList<>();
        for (int i = 0; i < metrics.length; i++) {
            live.update(10L * (i + 1), metrics[i]);
            history.add(new EvaluationHistory.Entry(10L * (i + 1), metrics[i]));
        }
        ReduceLrOnPlateau resumed = new ReduceLrOnPlateau(new ConstantSchedule(0.1), s);
        resumed.replay(history);
        assertEquals(live.scale(), resumed.scale());
        assertEquals(live.best(), resumed.best());
        assertEquals(live.badEvaluations(), resumed.badEvaluations());
        assertEquals(live.cooldownLeft(), resumed.cooldownLeft());
        assertEquals(live.reductions(), resumed.reductions());
        assertEquals(Double.doubleToRawLongBits(live.lr(95)), Double.doubleToRawLongBits(resumed.lr(95)));
        assertThrows(IllegalStateException.class, () -> resumed.replay(history), "replay needs a fresh instance");
    }

    @Test
    void readsTheHistoryFromMetricsJsonl(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, String.join("\n",
            "{\"type\":\"step\",\"step\":1,\"epoch\":1,\"loss\":2.3,\"lr\":0.1,\"samples_per_second\":100.0}",
            "{\"type\":\"eval\",\"epoch\":1,\"step\":10,\"test_loss\":0.9,\"test_accuracy\":0.7,\"train_loss\":1.1}",
            "{\"type\":\"eval\",\"epoch\":2,\"step\":20,\"test_loss\":null,\"test_accuracy\":0.1,\"train_loss\":null}",
            // the run crashed after evaluating at step 30, before its checkpoint, and resumed from step 20
            "{\"type\":\"eval\",\"epoch\":3,\"step\":30,\"test_loss\":0.7,\"test_accuracy\":0.8,\"train_loss\":0.75}",
            "",
            "{\"type\":\"eval\",\"epoch\":3,\"step\":30,\"test_loss\":0.65,\"test_accuracy\":0.81,\"train_loss\":0.7}",
            "{\"type\":\"eval\",\"epoch\":4,\"step\":40,\"test_loss\":0.6,\"test_accuracy\":0.82,\"train_loss\":\"Infinity\"}",
            "{\"type\":\"eval\",\"epoch\":5,\"step\":50,\"test_lo"), StandardCharsets.UTF_8);
        List<EvaluationHistory.Entry> loss = EvaluationHistory.read(file, "test_loss", 40);
        assertEquals(List.of(new EvaluationHistory.Entry(10, 0.9), new EvaluationHistory.Entry(20, Double.NaN),
            new EvaluationHistory.Entry(30, 0.65), new EvaluationHistory.Entry(40, 0.6)), loss);
        assertEquals(List.of(new EvaluationHistory.Entry(10, 1.1), new EvaluationHistory.Entry(20, Double.NaN),
            new EvaluationHistory.Entry(30, 0.7)), EvaluationHistory.read(file, "train_loss", 35));
        assertEquals(Double.POSITIVE_INFINITY, EvaluationHistory.read(file, "train_loss", 40).getLast().value());
        assertEquals(List.of(), EvaluationHistory.read(dir.resolve("none.jsonl"), "test_loss", 40));
        assertThrows(IllegalArgumentException.class, () -> EvaluationHistory.read(file, "val_loss", 40));

        Path broken = dir.resolve("broken.jsonl");
        Files.writeString(broken, "{\"type\":\"eval\",\"step\":10,\"test_loss\":0.9}\nnot json\n{\"type\":\"eval\",\"step\":20,\"test_loss\":0.8}\n");
        IOException e = assertThrows(IOException.class, () -> EvaluationHistory.read(broken, "test_loss", 40));
        assertTrue(e.getMessage().contains("line 2 is not a JSON record"), e.getMessage());
        Files.writeString(broken, "{\"type\":\"eval\",\"step\":10,\"test_accuracy\":0.9}\n");
        e = assertThrows(IOException.class, () -> EvaluationHistory.read(broken, "test_loss", 40));
        assertTrue(e.getMessage().contains("line 1: eval record without \"test_loss\""), e.getMessage());
    }

    @Test
    void listenersAreCalledInOrderAndNullsSkipped() {
        List<String> calls = new ArrayList<>();
        dev.frugal.trainer.TrainingListener a = new dev.frugal.trainer.TrainingListener() {
            @Override
            public void onStart(long totalSteps, long startStep) {
                calls.add("a-start");
            }

            @Override
            public void onEvaluation(dev.frugal.trainer.EvaluationMetrics metrics) {
                calls.add("a-eval");
            }
        };
        ReduceLrOnPlateau p = new ReduceLrOnPlateau(new ConstantSchedule(1), Settings.parse("plateau:patience=0"));
        dev.frugal.trainer.TrainingListener both = Listeners.all(a, null, p);
        both.onStart(10, 0);
        both.onEvaluation(new dev.frugal.trainer.EvaluationMetrics(0, 5, new dev.frugal.trainer.Evaluation(1.0, 0.5, 10), 1.2));
        both.onEvaluation(new dev.frugal.trainer.EvaluationMetrics(1, 10, new dev.frugal.trainer.Evaluation(1.0, 0.5, 10), 1.1));
        assertEquals(List.of("a-start", "a-eval", "a-eval"), calls);
        assertEquals(2, p.evaluations());
        assertEquals(1, p.reductions());
    }
}
