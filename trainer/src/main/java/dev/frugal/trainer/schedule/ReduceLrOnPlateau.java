package dev.frugal.trainer.schedule;

import dev.frugal.trainer.config.KeyValueSpec;

import dev.frugal.trainer.EvaluationMetrics;
import dev.frugal.trainer.TrainingListener;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * PyTorch's {@code ReduceLROnPlateau} over a base schedule: the learning rate is
 * {@code base.lr(step) * scale}, and every evaluation may shrink {@code scale} when the watched
 * metric has stopped improving. With a constant base schedule the rates are PyTorch's exactly
 * (same defaults, same {@code rel}/{@code abs} threshold, cooldown, {@code min_lr} and {@code eps}
 * rules, NaN never improving).
 *
 * <p>It plugs into the trainer without changing it: pass {@code plateau::lr} as the schedule and
 * the instance (a {@link TrainingListener}) to {@code fit}, next to any other listener
 * ({@link Listeners#all}). The trainer calls {@link #onEvaluation} on the training thread between
 * steps, so the next step already uses the new rate.
 *
 * <p>On a reduction at an evaluation made after {@code step} optimizer steps, the base rate of the
 * next step, {@code r = base.lr(step)}, stands for PyTorch's current rate: the new scale is
 * {@code max(scale * factor, minLr / r)}, kept only when it lowers that step's rate by more than
 * {@code eps}. So {@code minLr} floors the rate at the moment of the reduction, as PyTorch's does;
 * a base schedule that decays further afterwards takes the rate below it (the two multiply).
 *
 * <p>Unlike an {@link LrSchedule} it has state (which is why it is not one): the rate of a step
 * depends on the evaluations before it. That state is not stored in checkpoints: a resumed run
 * rebuilds it by {@link #replay replaying} the evaluations made up to the checkpoint, read from
 * the run's {@code metrics.jsonl} with {@link EvaluationHistory#read} (the checkpoint's own
 * early-stopping values are not enough: they hold no steps, and only the early-stopping metric
 * when early stopping is on). The replay goes through the same code as a live evaluation, so the
 * resumed run gets bit-identical rates.
 */
public final class ReduceLrOnPlateau implements TrainingListener {
    /** Which way the watched metric improves. */
    public enum Mode {
        /** Lower is better (losses). */
        MIN,
        /** Higher is better (accuracies). */
        MAX
    }

    /** How {@code threshold} defines a significant improvement, as PyTorch's {@code threshold_mode}. */
    public enum ThresholdMode {
        /** Better than {@code best * (1 -/+ threshold)}. */
        REL,
        /** Better than {@code best -/+ threshold}. */
        ABS
    }

    /** The spec syntax, for help texts and errors. */
    public static final String SYNTAX =
        "plateau[:metric=M,mode=min|max,factor=F,patience=N,threshold=T,threshold-mode=rel|abs,cooldown=N,min=X,eps=E]";

    private static final Set<String> KEYS =
        Set.of("metric", "mode", "factor", "patience", "threshold", "threshold-mode", "cooldown", "min", "eps");

    /**
     * The settings, with PyTorch's names in parentheses.
     *
     * @param metric the evaluation metric watched, one of the task's ({@link EvaluationMetrics#ALL_NAMES})
     * @param mode which way it improves ({@code mode})
     * @param factor the scale's multiplier on a reduction, in (0, 1) ({@code factor})
     * @param patience evaluations without improvement tolerated; the next one reduces ({@code patience})
     * @param threshold what counts as a significant improvement, finite, not negative ({@code threshold})
     * @param thresholdMode relative or absolute threshold ({@code threshold_mode})
     * @param cooldown evaluations after a reduction during which bad evaluations are not counted ({@code cooldown})
     * @param minLr the rate a reduction does not go below, finite, not negative ({@code min_lr})
     * @param eps the smallest change of rate applied, finite, not negative ({@code eps})
     */
    public record Settings(String metric, Mode mode, double factor, int patience, double threshold, ThresholdMode thresholdMode,
                           int cooldown, double minLr, double eps) {
        /** PyTorch's default {@code factor}. */
        public static final double DEFAULT_FACTOR = 0.1;
        /** PyTorch's default {@code patience}. */
        public static final int DEFAULT_PATIENCE = 10;
        /** PyTorch's default {@code threshold}. */
        public static final double DEFAULT_THRESHOLD = 1e-4;
        /** PyTorch's default {@code eps}. */
        public static final double DEFAULT_EPS = 1e-8;
        /** The metric watched when the spec names none: the evaluation loss, as PyTorch's examples. */
        public static final String DEFAULT_METRIC = EvaluationMetrics.TEST_LOSS;

        /** Checks the values. */
        public Settings {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(thresholdMode, "thresholdMode");
            if (!EvaluationMetrics.isMetric(metric, EvaluationMetrics.ALL_NAMES)) {
                throw new IllegalArgumentException("plateau: " + EvaluationMetrics.unknownMetricMessage(metric, EvaluationMetrics.ALL_NAMES));
            }
            if (!(factor > 0 && factor < 1)) {
                throw new IllegalArgumentException("plateau: factor must be above 0 and below 1, got " + factor);
            }
            if (patience < 0) {
                throw new IllegalArgumentException("plateau: patience must be 0 or more, got " + patience);
            }
            if (cooldown < 0) {
                throw new IllegalArgumentException("plateau: cooldown must be 0 or more, got " + cooldown);
            }
            checkNonNegative("threshold", threshold);
            checkNonNegative("min", minLr);
            checkNonNegative("eps", eps);
        }

        /**
         * PyTorch's defaults for a metric: the mode from the metric's name (min for a loss, max
         * otherwise), factor 0.1, patience 10, threshold 1e-4 relative, cooldown 0, min_lr 0, eps 1e-8.
         *
         * @param metric one of {@link EvaluationMetrics#NAMES}
         * @return the settings
         */
        public static Settings defaults(String metric) {
            Mode mode = metric != null && EvaluationMetrics.higherIsBetter(metric) ? Mode.MAX : Mode.MIN;
            return new Settings(metric, mode, DEFAULT_FACTOR, DEFAULT_PATIENCE, DEFAULT_THRESHOLD, ThresholdMode.REL, 0, 0.0,
                DEFAULT_EPS);
        }

        /**
         * Parses a spec: {@code plateau}, or {@code plateau:} followed by comma-separated
         * {@code key=value}s among {@code metric, mode, factor, patience, threshold,
         * threshold-mode, cooldown, min, eps}; a key left out takes PyTorch's default, and the mode
         * follows the metric's name unless given.
         *
         * @param spec for example {@code plateau:metric=test_loss,factor=0.5,patience=2,min=1e-5}
         * @return the settings
         * @throws IllegalArgumentException naming the bad key or value and the valid syntax
         */
        public static Settings parse(String spec) {
            return parse(spec, EvaluationMetrics.NAMES);
        }

        /**
         * Parses a spec (see {@link #parse(String)}) for a task whose evaluations carry
         * {@code metrics}: the metric must be one of them, and without one the spec watches the
         * first ({@code test_loss} for an image classifier, {@code val_loss} for a language model).
         *
         * @param spec the spec
         * @param metrics the task's metrics ({@code TrainingTask.metricNames()}), the held-out loss first
         * @return the settings
         * @throws IllegalArgumentException naming the bad key or value and the valid syntax
         */
        public static Settings parse(String spec, List<String> metrics) {
            if (spec == null || spec.isBlank()) {
                throw new IllegalArgumentException("empty plateau spec; expected " + SYNTAX);
            }
            String[] parts = KeyValueSpec.nameAndOptions(spec);
            if (!parts[0].equals("plateau")) {
                throw new IllegalArgumentException("expected a spec starting with 'plateau', got '" + parts[0] + "'; expected " + SYNTAX);
            }
            KeyValueSpec options = KeyValueSpec.parse("plateau", parts[1], KEYS, "expected " + SYNTAX);
            String metric = options.text("metric", metrics.getFirst());
            if (!EvaluationMetrics.isMetric(metric, metrics)) {
                throw new IllegalArgumentException("plateau: metric: " + EvaluationMetrics.unknownMetricMessage(metric, metrics));
            }
            Settings d = defaults(metric);
            Mode mode = options.has("mode") ? choice("mode", options.text("mode"), Mode.class) : d.mode();
            ThresholdMode thresholdMode = options.has("threshold-mode")
                ? choice("threshold-mode", options.text("threshold-mode"), ThresholdMode.class) : d.thresholdMode();
            return new Settings(metric, mode,
                options.number("factor", d.factor()),
                count(options, "patience", d.patience()),
                options.number("threshold", d.threshold()),
                thresholdMode,
                count(options, "cooldown", d.cooldown()),
                options.number("min", d.minLr()),
                options.number("eps", d.eps()));
        }

        /** A one-line description with every value, readable back by {@link #parse}. */
        public String describe() {
            return "plateau:metric=" + metric + ",mode=" + lower(mode) + ",factor=" + Schedules.num(factor) + ",patience=" + patience
                + ",threshold=" + Schedules.num(threshold) + ",threshold-mode=" + lower(thresholdMode) + ",cooldown=" + cooldown
                + ",min=" + Schedules.num(minLr) + ",eps=" + Schedules.num(eps);
        }

        private static void checkNonNegative(String key, double value) {
            if (!Double.isFinite(value) || value < 0) {
                throw new IllegalArgumentException("plateau: " + key + " must be a finite number >= 0, got " + value);
            }
        }

        private static <E extends Enum<E>> E choice(String key, String text, Class<E> type) {
            for (E e : type.getEnumConstants()) {
                if (lower(e).equals(text)) {
                    return e;
                }
            }
            StringBuilder valid = new StringBuilder();
            for (E e : type.getEnumConstants()) {
                valid.append(valid.isEmpty() ? "" : " or ").append(lower(e));
            }
            throw new IllegalArgumentException("plateau: " + key + " must be " + valid + ", got '" + text + "'");
        }

        private static int count(KeyValueSpec options, String key, int fallback) {
            long n = options.whole(key, (long) fallback, "evaluations");
            if (n > Integer.MAX_VALUE || n < Integer.MIN_VALUE) {
                throw new IllegalArgumentException("plateau: " + key + " must be a whole number of evaluations, got '" + options.text(key) + "'");
            }
            return (int) n;
        }

        private static String lower(Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
    }

    private final LrSchedule base;
    private final Settings settings;
    private double scale = 1.0;
    private double best;
    private int badEvaluations;
    private int cooldownLeft;
    private int evaluations;
    private int reductions;

    /**
     * Reduces {@code base}'s rates on plateaus of the metric {@code settings} names.
     *
     * @param base the schedule scaled; a {@link ConstantSchedule} gives PyTorch's behaviour exactly
     * @param settings when and how much to reduce
     */
    public ReduceLrOnPlateau(LrSchedule base, Settings settings) {
        this.base = Objects.requireNonNull(base, "base");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.best = settings.mode() == Mode.MIN ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }

    /**
     * The base schedule's rate times the current scale.
     *
     * @param step the optimizer step, from 0
     * @return the rate
     */
    public double lr(long step) {
        return base.lr(step) * scale;
    }

    /**
     * A one-line description with every parameter, for logs and the run directory.
     *
     * @return the base schedule's description, then {@code with} and the settings' spec
     */
    public String describe() {
        return base.describe() + " with " + settings.describe();
    }

    /** Feeds the watched metric of an evaluation to {@link #update}. */
    @Override
    public void onEvaluation(EvaluationMetrics metrics) {
        update(metrics.step(), metrics.metric(settings.metric()));
    }

    /**
     * Rebuilds the state of a resumed run: feeds each past evaluation, in order, through
     * {@link #update}. Call it on a fresh instance before training continues.
     *
     * @param history the evaluations made up to the checkpoint resumed from, oldest first
     *     ({@link EvaluationHistory#read})
     * @throws IllegalStateException when this instance has already seen evaluations
     */
    public void replay(List<EvaluationHistory.Entry> history) {
        if (evaluations > 0) {
            throw new IllegalStateException("plateau: replay needs a fresh instance, this one has seen " + evaluations + " evaluations");
        }
        for (EvaluationHistory.Entry e : history) {
            update(e.step(), e.value());
        }
    }

    /**
     * One step of PyTorch's {@code ReduceLROnPlateau.step(metric)}.
     *
     * @param step optimizer steps done when the metric was measured (the next step is {@code step})
     * @param value the metric's value; NaN never improves
     * @return true when this evaluation reduced the rate
     */
    public boolean update(long step, double value) {
        evaluations++;
        if (isBetter(value)) {
            best = value;
            badEvaluations = 0;
        } else {
            badEvaluations++;
        }
        if (cooldownLeft > 0) {
            cooldownLeft--;
            badEvaluations = 0; // bad evaluations during cooldown are ignored
        }
        if (badEvaluations > settings.patience()) {
            boolean reduced = reduce(step);
            cooldownLeft = settings.cooldown();
            badEvaluations = 0;
            return reduced;
        }
        return false;
    }

    private boolean isBetter(double value) {
        double t = settings.threshold();
        boolean rel = settings.thresholdMode() == ThresholdMode.REL;
        if (settings.mode() == Mode.MIN) {
            return value < (rel ? best * (1 - t) : best - t);
        }
        return value > (rel ? best * (t + 1) : best + t);
    }

    private boolean reduce(long step) {
        double reference = base.lr(step);
        if (!(reference > 0)) {
            // a base rate of 0 (the start of a warm-up) cannot be reduced, and would make minLr / rate infinite
            return false;
        }
        double old = reference * scale;
        double target = Math.max(old * settings.factor(), settings.minLr());
        if (old - target > settings.eps()) {
            scale = target / reference;
            reductions++;
            return true;
        }
        return false;
    }

    /** The settings. */
    public Settings settings() {
        return settings;
    }

    /** The multiplier on the base schedule now: 1 until the first reduction. */
    public double scale() {
        return scale;
    }

    /** The best value so far (infinite, of the worse sign, before the first improvement). */
    public double best() {
        return best;
    }

    /** Evaluations counted as bad since the last improvement or reduction (PyTorch's {@code num_bad_epochs}). */
    public int badEvaluations() {
        return badEvaluations;
    }

    /** Evaluations of cooldown left (PyTorch's {@code cooldown_counter}). */
    public int cooldownLeft() {
        return cooldownLeft;
    }

    /** Evaluations seen, including replayed ones. */
    public int evaluations() {
        return evaluations;
    }

    /** Reductions made so far. */
    public int reductions() {
        return reductions;
    }
}
