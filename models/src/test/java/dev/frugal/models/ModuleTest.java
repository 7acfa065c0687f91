package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.layers.BatchNorm2d;
import dev.frugal.models.layers.Conv2d;
import dev.frugal.models.layers.Dropout;
import dev.frugal.models.layers.Embedding;
import dev.frugal.models.layers.LayerNorm;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.ReLU;
import dev.frugal.models.layers.Sequential;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Module API: names and order, counts, seeded initialisation, modes, tracing and closing. */
class ModuleTest {

    @Test
    void variablesHaveHierarchicalNamesInDeclarationOrder() {
        Sequential net = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new Sequential(new Linear(8, 2)));
        assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.0.weight", "3.0.bias"),
                List.copyOf(net.namedVariables().keySet()));
        assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "3.0.weight", "3.0.bias"), List.copyOf(net.namedParameters().keySet()));
        assertEquals(List.of("1.running_mean", "1.running_var"), List.copyOf(net.namedBuffers().keySet()));
        assertEquals(List.of("", "0", "1", "2", "3", "3.0"), List.copyOf(net.namedModules().keySet()));
    }

    @Test
    void parameterCountsMatchHandComputedValues() {
        assertEquals(784 * 256 + 256, new Linear(784, 256).parameterCount());
        assertEquals(10 * 5, new Linear(10, 5, false).parameterCount());
        assertEquals(8 * 3 * 3 * 3 + 8, new Conv2d(3, 8, 3).parameterCount());
        assertEquals(16 * 1 * 3 * 3, new Conv2d(16, 16, 3, 1, 1, 1, 16, false).parameterCount(), "depthwise: one 3x3 filter per channel");
        assertEquals(8 * 2 * 5 * 5 + 8, new Conv2d(4, 8, 5, 1, 0, 1, 2, true).parameterCount(), "groups=2 halves the input channels per filter");
        assertEquals(2 * 32, new BatchNorm2d(32).parameterCount(), "running statistics are buffers, not parameters");
        assertEquals(2 * 64, new LayerNorm(64).parameterCount());
        assertEquals(100 * 16, new Embedding(100, 16).parameterCount());
        assertEquals(0, new Dropout(0.5).parameterCount());
        assertEquals(0, new ReLU().parameterCount());
    }

    @Test
    void sameSeedGivesBitIdenticalWeightsAndAnotherSeedDifferentOnes() {
        try (Module a = net().initialize(42); Module b = net().initialize(42); Module c = net().initialize(43)) {
            for (String name : a.namedVariables().keySet()) {
                float[] va = a.namedVariables().get(name).value().toFloatArray();
                assertArrayEquals(va, b.namedVariables().get(name).value().toFloatArray(), name);
            }
            assertFalse(java.util.Arrays.equals(a.namedVariables().get("0.weight").value().toFloatArray(),
                    c.namedVariables().get("0.weight").value().toFloatArray()));
            assertFalse(java.util.Arrays.equals(a.namedVariables().get("2.weight").value().toFloatArray(),
                    c.namedVariables().get("2.weight").value().toFloatArray()));
        }
    }

    /**
     * Pins the initial weights of one seed, so a change to the random streams or initialisers
     * (which would silently change every run's results) fails here first.
     */
    @Test
    void initialWeightsOfASeedArePinned() {
        try (Module m = new Sequential(new Linear(4, 3)).initialize(2024)) {
            float[] w = m.namedVariables().get("0.weight").value().toFloatArray();
            assertEquals(0x5252d152a3a8546L, SeedStreams.derive(2024, "0.weight"));
            assertArrayEquals(new float[] {0.33339f, -0.39082938f, 0.09367901f, -0.43670458f}, java.util.Arrays.copyOf(w, 4));
            assertEquals(-0.4780926f, w[11]);
        }
    }

    @Test
    void weightsAreKeyedByNameSoAddingAModuleDoesNotShiftOthers() {
        try (Module small = new Sequential(new Linear(6, 5)).initialize(7);
             Module bigger = new Sequential(new Linear(6, 5), new Linear(5, 3)).initialize(7)) {
            assertArrayEquals(small.namedVariables().get("0.weight").value().toFloatArray(),
                    bigger.namedVariables().get("0.weight").value().toFloatArray());
            // Two same-shaped layers under different names get different weights.
            try (Module twins = new Sequential(new Linear(4, 4), new Linear(4, 4)).initialize(7)) {
                assertFalse(java.util.Arrays.equals(twins.namedVariables().get("0.weight").value().toFloatArray(),
                        twins.namedVariables().get("1.weight").value().toFloatArray()));
            }
        }
    }

    @Test
    void initialisersFollowPyTorchDefaults() {
        try (Module m = new Sequential(new Linear(100, 50), new Conv2d(4, 6, 3, 1, 0, 1, 2, true), new BatchNorm2d(3), new Embedding(50, 40))
                .initialize(1)) {
            Map<String, Variable> v = m.namedVariables();
            assertWithin(v.get("0.weight").value(), 1 / Math.sqrt(100));
            assertWithin(v.get("0.bias").value(), 1 / Math.sqrt(100));
            assertWithin(v.get("1.weight").value(), 1 / Math.sqrt(2 * 3 * 3));
            assertArrayEquals(new float[] {1, 1, 1}, v.get("2.weight").value().toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0}, v.get("2.bias").value().toFloatArray());
            assertArrayEquals(new float[] {0, 0, 0}, v.get("2.running_mean").value().toFloatArray());
            assertArrayEquals(new float[] {1, 1, 1}, v.get("2.running_var").value().toFloatArray());
            float[] emb = v.get("3.weight").value().toFloatArray();
            double mean = 0;
            double sq = 0;
            for (float f : emb) {
                mean += f;
                sq += (double) f * f;
            }
            mean /= emb.length;
            double std = Math.sqrt(sq / emb.length - mean * mean);
            assertEquals(0, mean, 0.1, "embedding mean");
            assertEquals(1, std, 0.1, "embedding std");
            // The linear weight uses most of its range (not, say, all zeros).
            float[] w = v.get("0.weight").value().toFloatArray();
            double max = 0;
            for (float f : w) {
                max = Math.max(max, Math.abs(f));
            }
            assertTrue(max > 0.09, "max |w| = " + max);
        }
    }

    private static void assertWithin(Tensor t, double bound) {
        for (float f : t.toFloatArray()) {
            assertTrue(Math.abs(f) <= bound, f + " outside +-" + bound);
        }
    }

    @Test
    void trainAndEvalSetTheWholeTree() {
        Sequential net = new Sequential(new Linear(2, 2), new Sequential(new BatchNorm2d(2)));
        assertTrue(net.isTraining());
        net.eval();
        for (Module m : net.namedModules().values()) {
            assertFalse(m.isTraining());
        }
        net.train(true);
        for (Module m : net.namedModules().values()) {
            assertTrue(m.isTraining());
        }
    }

    @Test
    void traceDeclaresParametersAndStateByFullName() {
        Sequential net = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
        Graph g = new Graph("t");
        ModuleTrace trace = ModuleTrace.of(g, net);
        assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias"),
                g.inputs(InputKind.PARAMETER).stream().map(v -> v.node().attrs(dev.frugal.runtime.graph.OpAttrs.Input.class).name()).toList());
        assertEquals(List.of("1.running_mean", "1.running_var"),
                g.inputs(InputKind.STATE).stream().map(v -> v.node().attrs(dev.frugal.runtime.graph.OpAttrs.Input.class).name()).toList());
        assertEquals(4, trace.parameterValues().size());
        assertSame(g.inputNamed("0.weight"), trace.value(net.namedVariables().get("0.weight")));
        assertThrows(IllegalArgumentException.class, () -> trace.value(new Linear(1, 1).localVariables().get("weight")));
    }

    @Test
    void closeFreesEveryValueAndBindingAnUninitialisedModuleFails() {
        Module m = net().initialize(3);
        Tensor w = m.namedVariables().get("0.weight").value();
        assertTrue(m.isInitialized());
        m.close();
        assertTrue(w.isClosed());
        assertFalse(m.isInitialized());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.namedVariables().get("0.weight").value());
        assertTrue(e.getMessage().contains("initialize"), e.getMessage());
        // Initialising again allocates fresh values.
        m.initialize(3);
        assertTrue(m.isInitialized());
        m.close();
    }

    @Test
    void stateRoundTripsIntoAFreshModuleAndBadStatesAreRejectedWhole() {
        try (Module source = net().initialize(5); Module target = net()) {
            Map<String, Tensor> state = source.state();
            assertEquals(List.copyOf(source.namedVariables().keySet()), List.copyOf(state.keySet()));
            target.loadState(state);
            for (String name : state.keySet()) {
                assertArrayEquals(state.get(name).toFloatArray(), target.state().get(name).toFloatArray(), name);
            }
            assertTrue(state.get("0.weight") != target.state().get("0.weight"), "loading copies");

            try (Module other = new Sequential(new Linear(8, 6), new ReLU(), new Linear(6, 4)).initialize(1)) {
                float[] before = target.state().get("0.weight").toFloatArray();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> target.loadState(other.state()));
                assertTrue(e.getMessage().contains("'2.weight' is f32[4,6], the model expects f32[3,6]"), e.getMessage());
                assertArrayEquals(before, target.state().get("0.weight").toFloatArray(), "nothing copied when the state does not fit");
            }
            Map<String, Tensor> partial = new java.util.LinkedHashMap<>(state);
            partial.remove("2.bias");
            partial.put("extra", state.get("2.bias"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> target.loadState(partial));
            assertTrue(e.getMessage().contains("missing [2.bias], unexpected [extra]"), e.getMessage());
        }
    }

    @Test
    void flopCountingRestoresEachModulesMode() {
        Sequential net = new Sequential(new Conv2d(1, 2, 1), new BatchNorm2d(2));
        net.children().get("1").eval();
        assertEquals(2L * 3 * 3 * 2, net.forwardFlops(Shape.of(1, 3, 3)), "a 1x1 convolution to 2 channels over a 3x3 plane");
        assertTrue(net.isTraining());
        assertTrue(net.children().get("0").isTraining());
        assertFalse(net.children().get("1").isTraining());
        // A trace that fails (wrong input rank) still restores the modes.
        assertThrows(RuntimeException.class, () -> net.forwardFlops(Shape.of(4)));
        assertTrue(net.children().get("0").isTraining());
        assertFalse(net.children().get("1").isTraining());
    }

    @Test
    void badNamesAndShapesAreRejectedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Module() {
            {
                addParameter("a.b", Shape.of(1), Initializer.zeros());
            }

            @Override
            public dev.frugal.runtime.graph.Value forward(ModuleTrace trace, dev.frugal.runtime.graph.Value input) {
                return input;
            }
        });
        assertTrue(e.getMessage().contains("'.'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 4, 3, 1, 0, 1, 2, true));
        assertTrue(e.getMessage().contains("groups=2"), e.getMessage());
    }

    @Test
    void seedStreamsDependOnSeedAndName() {
        assertEquals(SeedStreams.derive(1, "a.weight"), SeedStreams.derive(1, "a.weight"));
        assertNotEquals(SeedStreams.derive(1, "a.weight"), SeedStreams.derive(2, "a.weight"));
        assertNotEquals(SeedStreams.derive(1, "a.weight"), SeedStreams.derive(1, "a.bias"));
    }

    @Test
    void anF64BufferIsFilledThroughTheGeneralPath() {
        try (Tensor t = Initializer.constant(2.5).create(Shape.of(2, 2), DType.F64, SeedStreams.stream(0, "x"))) {
            assertArrayEquals(new double[] {2.5, 2.5, 2.5, 2.5}, t.toDoubleArray());
        }
    }

    private static Module net() {
        return new Sequential(new Linear(8, 6), new ReLU(), new Linear(6, 3));
    }
}
