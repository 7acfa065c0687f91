package dev.frugal.runtime.precision;

import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;

import java.util.List;
import java.util.Map;

/**
 * What {@link Autocast#apply} made.
 *
 * @param graph the rewritten graph (the source graph itself when nothing was rewritten)
 * @param outputs the rewritten outputs, in the order given, in their traced dtypes
 * @param values each live source value's counterpart in {@code graph} (identity map keys); an
 *     input's counterpart is the input of the same name
 * @param report which ops run in which dtype, and the casts inserted
 */
public record AutocastResult(Graph graph, List<Value> outputs, Map<Value, Value> values, AutocastReport report) {

    /**
     * The counterpart of a source value.
     *
     * @throws IllegalArgumentException when the value was not part of the rewritten program
     */
    public Value valueOf(Value source) {
        Value v = values.get(source);
        if (v == null) {
            throw new IllegalArgumentException(source + " is not part of the autocast program");
        }
        return v;
    }
}
