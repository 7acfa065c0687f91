package dev.frugal.trainer.config;

import dev.frugal.trainer.data.LoaderOptions;
import java.util.Locale;

/**
 * The training-data augmentation of {@code frugal train --augment SPEC}: {@code none}, or a comma
 * list of {@code crop=P} (a random crop of the image padded by {@code P} zero pixels on every
 * side) and {@code flip} (a random horizontal flip), for example {@code crop=2,flip}. It applies
 * to the training loader only; evaluation always sees the plain images.
 *
 * @param cropPadding pixels of zero padding for random crops; 0: no cropping
 * @param flip whether to flip horizontally at random
 */
public record AugmentSpec(int cropPadding, boolean flip) {
    /** No augmentation. */
    public static final AugmentSpec NONE = new AugmentSpec(0, false);
    /** The valid forms, for error messages and help texts. */
    public static final String FORMS = "none, or a comma list of crop=P (random crop with P pixels of zero padding, "
            + "P from 1 to half the image size) and flip (random horizontal flip), e.g. crop=2,flip";

    /** Checks the padding. */
    public AugmentSpec {
        if (cropPadding < 0) {
            throw new ConfigException("augment: crop padding " + cropPadding + " is negative; valid: " + FORMS);
        }
    }

    /**
     * Parses a spec. Whether the padding fits the images is checked by {@link #checkFits} once the
     * data set is known.
     *
     * @param spec {@code none} or a comma list of {@code crop=P} and {@code flip}
     * @return the augmentation
     * @throws ConfigException for anything else, listing the valid forms
     */
    public static AugmentSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw invalid(spec, "it is empty");
        }
        String text = spec.strip().toLowerCase(Locale.ROOT);
        if (text.equals("none")) {
            return NONE;
        }
        Integer padding = null;
        boolean flip = false;
        for (String raw : text.split(",", -1)) {
            String item = raw.strip();
            if (item.equals("flip")) {
                if (flip) {
                    throw invalid(spec, "flip is given twice");
                }
                flip = true;
            } else if (item.startsWith("crop=")) {
                if (padding != null) {
                    throw invalid(spec, "crop is given twice");
                }
                String value = item.substring("crop=".length()).strip();
                try {
                    padding = Integer.parseInt(value);
                } catch (NumberFormatException e) {
                    throw invalid(spec, "crop padding '" + value + "' is not a whole number");
                }
                if (padding < 1) {
                    throw invalid(spec, "crop padding must be at least 1, got " + padding);
                }
            } else {
                throw invalid(spec, item.isEmpty() ? "it has an empty item" : "'" + item + "' is not crop=P or flip");
            }
        }
        return new AugmentSpec(padding == null ? 0 : padding, flip);
    }

    /**
     * Checks that the crop padding is at most half the image size (more would let a crop hold
     * almost nothing but padding).
     *
     * @param height image height
     * @param width image width
     * @return this spec
     * @throws ConfigException when the padding is too large, naming the limit
     */
    public AugmentSpec checkFits(int height, int width) {
        int max = Math.min(height, width) / 2;
        if (cropPadding > max) {
            throw new ConfigException("augment: crop=" + cropPadding + " is too large for " + height + "x" + width
                    + " images; P must be from 1 to " + max + "; valid: " + FORMS);
        }
        return this;
    }

    /**
     * Whether this augments at all.
     *
     * @return false for {@link #NONE}
     */
    public boolean enabled() {
        return cropPadding > 0 || flip;
    }

    /**
     * Loader options with this augmentation.
     *
     * @param options the training loader's options
     * @return a copy with {@link LoaderOptions#withAugmentation} set from this spec
     */
    public LoaderOptions applyTo(LoaderOptions options) {
        return options.withAugmentation(cropPadding, flip);
    }

    /**
     * The spec in its canonical form, as {@link #parse} reads it.
     *
     * @return {@code none}, {@code crop=P}, {@code flip} or {@code crop=P,flip}
     */
    @Override
    public String toString() {
        if (!enabled()) {
            return "none";
        }
        String crop = cropPadding > 0 ? "crop=" + cropPadding : "";
        return flip ? (crop.isEmpty() ? "flip" : crop + ",flip") : crop;
    }

    private static ConfigException invalid(String spec, String why) {
        return new ConfigException("augment: '" + spec + "' is not valid (" + why + "); valid: " + FORMS);
    }
}
