package dev.frugal.trainer.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PruningSpecTest {
    @Test
    void parsesBothMethodsWithDefaults() {
        PruningSpec s = PruningSpec.parse("structured:0.5");
        assertEquals(PruningSpec.Method.STRUCTURED, s.method());
        assertEquals(0.5, s.sparsity());
        assertEquals(PruningSpec.Norm.L1, s.norm());
        assertEquals(PruningSpec.Schedule.CUBIC, s.schedule());
        assertEquals(0.1, s.start());
        assertEquals(0.6, s.end());

        PruningSpec m = PruningSpec.parse("magnitude:0.8,scope=layer,schedule=once,at=75%");
        assertEquals(PruningSpec.Method.MAGNITUDE, m.method());
        assertEquals(PruningSpec.Scope.LAYER, m.scope());
        assertEquals(PruningSpec.Schedule.ONCE, m.schedule());
        assertEquals(0.75, m.at(), 1e-12);
    }

    @Test
    void canonicalTextParsesBackToTheSameSpec() {
        for (String text : new String[] {"structured:0.5", "structured:0.25,norm=l2,start=0,end=50%,every=7", "magnitude:0.9",
                "magnitude:0,scope=layer,schedule=once,at=0"}) {
            PruningSpec s = PruningSpec.parse(text);
            assertEquals(s, PruningSpec.parse(s.toString()), text);
        }
    }

    @Test
    void badSpecsNameWhatIsWrong() {
        assertMessage("structured:1", "sparsity 1.0 is outside [0, 1)");
        assertMessage("magnitude:-0.1", "outside [0, 1)");
        assertMessage("structured:half", "sparsity 'half' is not a number");
        assertMessage("structured", "no sparsity");
        assertMessage("random:0.5", "unknown method 'random'");
        assertMessage("structured:0.5,scope=layer", "unknown key 'scope'");
        assertMessage("magnitude:0.5,norm=l2", "unknown key 'norm'");
        assertMessage("magnitude:0.5,schedule=once,end=0.5", "schedule=once takes at=");
        assertMessage("magnitude:0.5,at=0.5", "at belongs to schedule=once");
        assertMessage("magnitude:0.5,start=0.7,end=0.5", "end 0.5 is before start 0.7");
        assertMessage("magnitude:0.5,end=120%", "end 1.2 is outside [0, 1]");
        assertMessage("structured:0.5,schedule=linear", "unknown schedule 'linear'");
    }

    private static void assertMessage(String text, String expected) {
        var e = assertThrows(IllegalArgumentException.class, () -> PruningSpec.parse(text));
        assertTrue(e.getMessage().contains(expected), text + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("--prune"), "names the option: " + e.getMessage());
    }
}
