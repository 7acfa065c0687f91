package dev.frugal.trainer.schedule;

import dev.frugal.trainer.EvaluationMetrics;
import dev.frugal.trainer.StepMetrics;
import dev.frugal.trainer.TrainingListener;
import dev.frugal.trainer.budget.GuardrailAction;
import dev.frugal.trainer.budget.Usage;
import java.util.ArrayList;
import java.util.List;

/** Combines {@link TrainingListener}s, so a fit can feed a progress log, a plateau schedule and a curriculum at once. */
public final class Listeners {
    private Listeners() {
    }

    /**
     * One listener that calls each of {@code listeners}, in the order given, for every event
     * (every method of {@link TrainingListener}; {@code ListenersTest} checks none is missed).
     *
     * @param listeners the listeners; nulls are skipped
     * @return the combination (a listener that does nothing when none is left)
     */
    public static TrainingListener all(TrainingListener... listeners) {
        List<TrainingListener> list = new ArrayList<>();
        for (TrainingListener l : listeners) {
            if (l != null) {
                list.add(l);
            }
        }
        List<TrainingListener> each = List.copyOf(list);
        return new TrainingListener() {
            @Override
            public void onStart(long totalSteps, long startStep) {
                for (TrainingListener l : each) {
                    l.onStart(totalSteps, startStep);
                }
            }

            @Override
            public void onStep(StepMetrics metrics) {
                for (TrainingListener l : each) {
                    l.onStep(metrics);
                }
            }

            @Override
            public void onEvaluation(EvaluationMetrics metrics) {
                for (TrainingListener l : each) {
                    l.onEvaluation(metrics);
                }
            }

            @Override
            public void onEpochEnd(int epoch, long step, Usage usage) {
                for (TrainingListener l : each) {
                    l.onEpochEnd(epoch, step, usage);
                }
            }

            @Override
            public void onGuardrail(GuardrailAction action) {
                for (TrainingListener l : each) {
                    l.onGuardrail(action);
                }
            }
        };
    }
}
