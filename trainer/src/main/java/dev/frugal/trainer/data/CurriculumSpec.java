package dev.frugal.trainer.data;

import dev.frugal.trainer.config.KeyValueSpec;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/**
 * A parsed {@code --curriculum} spec: where the difficulty scores come from and how the
 * competence grows. The grammar is
 * {@code curriculum:(scores=FILE|warmup=N),steps=T[,pacing=linear|root][,start=C0]}:
 *
 * <ul>
 *   <li>{@code scores=FILE}: one score per training sample (see {@link CurriculumScores}), the
 *       curriculum starting at step 0;</li>
 *   <li>{@code warmup=N}: train plainly for N steps, then score every training sample by its loss
 *       under the model of that moment ({@link CurriculumWarmup}), the curriculum starting at
 *       step N;</li>
 *   <li>{@code steps=T} (required): the curriculum's length, after which batches come from the
 *       full set again;</li>
 *   <li>{@code pacing} (default {@code root}, the paper's best) and {@code start}, {@code c0}
 *       (default 0.01, the paper's).</li>
 * </ul>
 *
 * @param scoresFile the scores file; null when the scores come from a warm-up
 * @param warmupSteps the warm-up's length; 0 with a scores file
 * @param pacing how the competence grows
 * @param start {@code c0}, in (0, 1]
 * @param steps {@code T}, at least 1
 */
public record CurriculumSpec(Path scoresFile, long warmupSteps, Pacing pacing, double start, long steps) {
    /** The spec syntax, for help texts and errors. */
    public static final String SYNTAX = "curriculum:(scores=FILE|warmup=N),steps=T[,pacing=linear|root][,start=C0]";
    /** The default pacing. */
    public static final Pacing DEFAULT_PACING = Pacing.ROOT;
    /** The default {@code c0}, as in the paper. */
    public static final double DEFAULT_START = 0.01;

    private static final Set<String> KEYS = Set.of("scores", "warmup", "steps", "pacing", "start");

    /** Checks the values. */
    public CurriculumSpec {
        Objects.requireNonNull(pacing, "pacing");
        if (scoresFile != null && warmupSteps != 0) {
            throw new IllegalArgumentException("curriculum: give either scores=FILE or warmup=N, not both");
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("curriculum: warmup must be 0 steps or more, got " + warmupSteps);
        }
        if (!(start > 0 && start <= 1)) {
            throw new IllegalArgumentException("curriculum: start must be above 0 and at most 1, got " + start);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("curriculum: steps must be at least 1, got " + steps);
        }
    }

    /**
     * Parses a spec.
     *
     * @param spec for example {@code curriculum:scores=difficulty.txt,pacing=root,start=0.2,steps=2000}
     *     or {@code curriculum:warmup=200,pacing=linear,start=0.3,steps=1500}
     * @return the spec
     * @throws IllegalArgumentException naming the bad key or value and the valid syntax
     */
    public static CurriculumSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty curriculum spec; expected " + SYNTAX);
        }
        String[] parts = KeyValueSpec.nameAndOptions(spec);
        if (!parts[0].equals("curriculum")) {
            throw new IllegalArgumentException("expected a spec starting with 'curriculum:', got '" + parts[0] + "'; expected " + SYNTAX);
        }
        KeyValueSpec options = KeyValueSpec.parse("curriculum", parts[1], KEYS, "expected " + SYNTAX);
        String scores = options.text("scores");
        String warmup = options.text("warmup");
        if ((scores == null) == (warmup == null)) {
            throw new IllegalArgumentException("curriculum: give exactly one of scores=FILE (a score per training sample) or warmup=N"
                + " (score by the per-sample loss after N plain steps); expected " + SYNTAX);
        }
        if (scores != null && scores.isEmpty()) {
            throw new IllegalArgumentException("curriculum: scores needs a file name");
        }
        if (!options.has("steps")) {
            throw new IllegalArgumentException("curriculum: missing required key 'steps' (the curriculum's length); expected " + SYNTAX);
        }
        return new CurriculumSpec(scores == null ? null : Path.of(scores),
            warmup == null ? 0 : options.whole("warmup", null, "steps"),
            options.has("pacing") ? Pacing.parse(options.text("pacing")) : DEFAULT_PACING,
            options.number("start", DEFAULT_START),
            options.whole("steps", null, "steps"));
    }

    /** Whether the scores come from the per-sample losses after a warm-up (else from {@link #scoresFile}). */
    public boolean scoresFromWarmup() {
        return scoresFile == null;
    }

    /**
     * A curriculum for this spec, without scores yet: give them with {@link Curriculum#setScores}
     * (read from {@link #scoresFile} with {@link CurriculumScores#read}, or through a {@link CurriculumWarmup}).
     *
     * @return the curriculum, starting at step {@link #warmupSteps}
     */
    public Curriculum newCurriculum() {
        return new Curriculum(pacing, start, steps, warmupSteps);
    }

    /** The spec in its canonical form, readable back by {@link #parse}. */
    public String describe() {
        return "curriculum:" + (scoresFile != null ? "scores=" + scoresFile : "warmup=" + warmupSteps) + ",steps=" + steps
            + ",pacing=" + pacing.label() + ",start=" + start;
    }

}
