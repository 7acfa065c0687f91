package dev.frugal.models.zoo;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * A parsed and validated model spec: a zoo name and the value of every one of its options
 * (defaults filled in), in the zoo entry's option order. Made by {@link ModelZoo#parse(String)}.
 *
 * @param name    the zoo name, e.g. {@code deep-mlp}
 * @param options every option of the model with its resolved value
 */
public record ModelSpec(String name, Map<String, Integer> options) {
    /** Copies the options, keeping their order. */
    public ModelSpec {
        options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    /**
     * The value of an option.
     *
     * @throws IllegalArgumentException when the model has no such option
     */
    public int get(String option) {
        Integer v = options.get(option);
        if (v == null) {
            throw new IllegalArgumentException("model '" + name + "' has no option '" + option + "'; options: " + options.keySet());
        }
        return v;
    }

    /**
     * The canonical text, every option spelled out ({@code deep-mlp:depth=8,width=256}; just the
     * name when there are none) except a {@linkplain ModelOption#derived derived} option left at 0,
     * which parsing fills back in: {@code mobilenet-tiny:width=32}, but
     * {@code mobilenet-tiny:width=16,block1=32,...} once its blocks are set.
     */
    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(",", name + ":", "");
        j.setEmptyValue(name);
        options.forEach((k, v) -> {
            if (v != 0 || !isDerived(k)) {
                j.add(k + "=" + v);
            }
        });
        return j.toString();
    }

    private boolean isDerived(String option) {
        for (ZooEntry e : ModelZoo.entries()) {
            if (e.name().equals(name)) {
                ModelOption o = e.option(option);
                return o != null && o.derived();
            }
        }
        return false;
    }
}
