package dev.frugal.trainer.schedule;

import dev.frugal.trainer.StepMetrics;
import dev.frugal.trainer.TrainingListener;
import dev.frugal.trainer.budget.Guardrail;
import dev.frugal.trainer.budget.GuardrailAction;
import dev.frugal.trainer.budget.Usage;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** A combination of listeners forwards every event, to each listener in order. */
class ListenersTest {
    @Test
    void everyListenerMethodIsForwarded() throws NoSuchMethodException {
        TrainingListener all = Listeners.all(new TrainingListener() { });
        for (Method m : TrainingListener.class.getDeclaredMethods()) {
            // a method added to TrainingListener and not forwarded would fall back to its empty default
            assertNotNull(all.getClass().getDeclaredMethod(m.getName(), m.getParameterTypes()), m.getName() + " is forwarded");
        }
    }

    @Test
    void eventsReachEachListenerInOrder() {
        List<String> seen = new ArrayList<>();
        TrainingListener a = new TrainingListener() {
            @Override
            public void onStep(StepMetrics s) {
                seen.add("a step " + s.step());
            }

            @Override
            public void onGuardrail(GuardrailAction action) {
                seen.add("a " + action.guardrail().label());
            }
        };
        TrainingListener b = new TrainingListener() {
            @Override
            public void onStep(StepMetrics s) {
                seen.add("b step " + s.step());
            }

            @Override
            public void onEpochEnd(int epoch, long step, Usage usage) {
                seen.add("b epoch " + epoch);
            }
        };
        TrainingListener all = Listeners.all(a, null, b);
        all.onStep(new StepMetrics(3, 0, 1.0, 0.1, 8));
        all.onEpochEnd(0, 3, new Usage(1, 1, 1, 24, -1, -1));
        all.onGuardrail(new GuardrailAction(3, Guardrail.STOP, "budget-steps", "done"));
        assertEquals(List.of("a step 3", "b step 3", "b epoch 0", "a stop"), seen);
    }
}
