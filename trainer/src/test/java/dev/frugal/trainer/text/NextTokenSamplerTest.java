package dev.frugal.trainer.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Temperature, top-k and seeded draws. */
class NextTokenSamplerTest {
    private static final float[] LOGITS = {1f, 3f, 2f, 3f, -1f};

    @Test
    void temperatureZeroIsTheArgmaxTheLowestIdAmongEquals() {
        NextTokenSampler greedy = new NextTokenSampler(0, 40, 5);
        for (int i = 0; i < 10; i++) {
            assertEquals(1, greedy.next(LOGITS));
        }
    }

    @Test
    void topKKeepsOnlyTheMostLikely() {
        NextTokenSampler two = new NextTokenSampler(1.0, 2, 3);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < 2000; i++) {
            counts[two.next(LOGITS)]++;
        }
        assertEquals(0, counts[0] + counts[2] + counts[4], "only the two largest logits (ids 1 and 3)");
        assertTrue(counts[1] > 800 && counts[3] > 800, "equal logits, about equal shares: " + counts[1] + " / " + counts[3]);
        NextTokenSampler one = new NextTokenSampler(2.0, 1, 3);
        assertEquals(1, one.next(LOGITS), "top-1 is greedy whatever the temperature");
    }

    @Test
    void drawsFollowTheSoftmaxOfTheScaledLogits() {
        float[] logits = {0f, (float) Math.log(3)};
        NextTokenSampler all = new NextTokenSampler(1.0, 0, 9);
        int ones = 0;
        for (int i = 0; i < 20000; i++) {
            ones += all.next(logits);
        }
        assertEquals(0.75, ones / 20000.0, 0.015, "p(1) = 3 / (1 + 3)");
        NextTokenSampler hot = new NextTokenSampler(1e6, 0, 9);
        ones = 0;
        for (int i = 0; i < 20000; i++) {
            ones += hot.next(logits);
        }
        assertEquals(0.5, ones / 20000.0, 0.015, "a very high temperature flattens to uniform");
    }

    @Test
    void theSameSeedGivesTheSameDraws() {
        NextTokenSampler a = new NextTokenSampler(0.8, 0, 42);
        NextTokenSampler b = new NextTokenSampler(0.8, 0, 42);
        for (int i = 0; i < 100; i++) {
            assertEquals(a.next(LOGITS), b.next(LOGITS));
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertEquals("temperature -0.5, expected 0 (greedy) or a finite number above 0",
                assertThrows(IllegalArgumentException.class, () -> new NextTokenSampler(-0.5, 0, 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NextTokenSampler(Double.NaN, 0, 1));
        assertEquals("top-k -1, expected 0 (all tokens) or more",
                assertThrows(IllegalArgumentException.class, () -> new NextTokenSampler(1, -1, 1)).getMessage());
    }
}
