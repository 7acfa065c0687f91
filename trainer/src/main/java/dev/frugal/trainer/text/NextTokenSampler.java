package dev.frugal.trainer.text;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a language model's logits: temperature, then top-k, then a seeded
 * draw (nanoGPT's sampling). Temperature 0 is greedy decoding, the arg-max (the lowest id among
 * equal maxima); otherwise the logits are divided by the temperature, all but the {@code topK}
 * largest dropped (0 keeps all), and a token drawn from the softmax of the rest, in double
 * precision. The draws come from one random stream seeded once, so the same seed, model and
 * prompt give the same text.
 */
public final class NextTokenSampler {
    private final double temperature;
    private final int topK;
    private final SplittableRandom random;

    /**
     * A sampler.
     *
     * @param temperature 0 for greedy decoding, else above 0 (below 1 sharpens, above 1 flattens)
     * @param topK how many of the most likely tokens to draw from; 0 for all
     * @param seed seeds the draws
     * @throws IllegalArgumentException for a negative or non-finite temperature, or a negative top-k
     */
    public NextTokenSampler(double temperature, int topK, long seed) {
        if (!(temperature >= 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature " + temperature + ", expected 0 (greedy) or a finite number above 0");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k " + topK + ", expected 0 (all tokens) or more");
        }
        this.temperature = temperature;
        this.topK = topK;
        this.random = new SplittableRandom(seed);
    }

    /** Whether this sampler decodes greedily (temperature 0). */
    public boolean greedy() {
        return temperature == 0;
    }

    /**
     * The next token.
     *
     * @param logits one logit per id of the vocabulary, at least one
     * @return the chosen id
     */
    public int next(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("no logits to sample from");
        }
        if (greedy()) {
            return argmax(logits);
        }
        int k = topK == 0 || topK > logits.length ? logits.length : topK;
        // the k largest: ids ordered by logit, descending, the lower id first among equals
        Integer[] order = new Integer[logits.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        double max = logits[order[0]] / temperature;
        double[] weights = new double[k];
        double total = 0;
        for (int i = 0; i < k; i++) {
            weights[i] = Math.exp(logits[order[i]] / temperature - max);
            total += weights[i];
        }
        double u = random.nextDouble() * total;
        for (int i = 0; i < k; i++) {
            u -= weights[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[k - 1]; // u fell on the rounding error at the very end
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
