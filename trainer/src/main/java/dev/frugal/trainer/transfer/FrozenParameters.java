package dev.frugal.trainer.transfer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SequencedSet;
import java.util.regex.Pattern;

/**
 * Which parameters a training step freezes, from globs over full parameter names such as
 * {@code block1.*} or {@code *.weight}: {@code *} matches any run of characters (dots included),
 * {@code ?} any one character; everything else is literal. A frozen parameter gets no gradient
 * (it is left out of the differentiation), no optimizer update and no optimizer state.
 *
 * <p>Buffers are not parameters: a frozen batch-norm layer still updates its running statistics
 * in training mode, as in PyTorch, where {@code requires_grad = False} does not stop them either
 * (put the layer in evaluation mode for that).
 */
public final class FrozenParameters {
    private FrozenParameters() {
    }

    /**
     * Splits a comma-separated list of globs ({@code --freeze 'block1.*,block2.*'}).
     *
     * @param commaSeparated the list; null or blank for none
     * @return the globs, stripped, empty ones dropped
     */
    public static List<String> parseGlobs(String commaSeparated) {
        List<String> out = new ArrayList<>();
        if (commaSeparated == null) {
            return out;
        }
        for (String part : commaSeparated.split(",")) {
            if (!part.isBlank()) {
                out.add(part.strip());
            }
        }
        return out;
    }

    /**
     * The parameters the globs freeze, in {@code parameterNames}' order.
     *
     * @param parameterNames every trainable parameter's full name, in the model's order
     * @param globs the globs; empty freezes nothing
     * @return the frozen names
     * @throws IllegalArgumentException naming a glob that matches no parameter (listing the
     *     parameter names), or when the globs freeze every parameter (nothing would train)
     */
    public static SequencedSet<String> resolve(Collection<String> parameterNames, List<String> globs) {
        SequencedSet<String> frozen = new LinkedHashSet<>();
        if (globs.isEmpty()) {
            return frozen;
        }
        for (String glob : globs) {
            Pattern pattern = toPattern(glob);
            boolean any = false;
            for (String name : parameterNames) {
                if (pattern.matcher(name).matches()) {
                    any = true;
                    frozen.add(name);
                }
            }
            if (!any) {
                throw new IllegalArgumentException("freeze: the glob '" + glob + "' matches no parameter; the parameters are "
                        + String.join(", ", parameterNames));
            }
        }
        // keep the model's order, whatever the globs' order
        SequencedSet<String> ordered = new LinkedHashSet<>();
        for (String name : parameterNames) {
            if (frozen.contains(name)) {
                ordered.add(name);
            }
        }
        if (ordered.size() == parameterNames.size()) {
            throw new IllegalArgumentException("freeze: the globs " + globs + " freeze every parameter, so nothing would train;"
                    + " leave at least one out (the parameters are " + String.join(", ", parameterNames) + ")");
        }
        return ordered;
    }

    /** The glob as an anchored regular expression: {@code *} any run, {@code ?} one character, the rest literal. */
    static Pattern toPattern(String glob) {
        if (glob.isBlank()) {
            throw new IllegalArgumentException("freeze: an empty glob; expected a parameter name or a pattern such as 'block1.*'");
        }
        StringBuilder regex = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                if (!literal.isEmpty()) {
                    regex.append(Pattern.quote(literal.toString()));
                    literal.setLength(0);
                }
                regex.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        if (!literal.isEmpty()) {
            regex.append(Pattern.quote(literal.toString()));
        }
        return Pattern.compile(regex.toString());
    }
}
