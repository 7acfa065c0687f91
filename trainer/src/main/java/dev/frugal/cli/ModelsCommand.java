package dev.frugal.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelOption;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.models.zoo.PrunableChannels;
import dev.frugal.models.zoo.ZooEntry;
import dev.frugal.trainer.config.ModelRecipes;
import dev.frugal.trainer.prune.PruningPreview;
import dev.frugal.trainer.prune.PruningSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code frugal models [--json] [SPEC...]}: the model zoo, one row per model with its parameter
 * count and forward FLOPs per sample, each model's options and its default training recipe (what
 * {@code frugal train} uses unless told otherwise). With specs
 * ({@code deep-mlp:depth=64,width=512}) it lists those configurations instead of the defaults;
 * a bad spec fails with a message listing the valid models or options. Nothing is allocated:
 * counts come from the declared shapes and a traced forward pass.
 */
@Command(name = "models", mixinStandardHelpOptions = true,
        description = "List the model zoo: parameters, forward FLOPs per sample, options and default training recipe of each model.")
public final class ModelsCommand implements Runnable {
    @Option(names = "--json", description = "Print JSON: {\"models\":[{\"name\",\"spec\",\"parameters\",\"forward_flops\",...,\"recipe\"}]}.")
    boolean json;

    @Option(names = "--prune", paramLabel = "SPEC", description = "Also show what pruning would leave (as frugal train --prune takes it):"
            + " parameters and forward FLOPs before and after; structured pruning names the smaller model.")
    String prune;

    @Parameters(paramLabel = "SPEC", arity = "0..*",
            description = "Model specs to list, NAME or NAME:key=value,... (default: every zoo model with its default options).")
    List<String> specs = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public ModelsCommand() {
    }

    /**
     * One listed configuration: what {@code frugal models} prints per row. The input shape and
     * class count are the spec's (tiny-gpt's follow its context and vocab options).
     */
    record Row(ZooEntry entry, String spec, long parameters, long forwardFlops, int[] inputShape, int classes, PruningPreview pruned) {
    }

    /** Builds the rows (throwing on a bad spec) and prints them as JSON or as a table. */
    @Override
    public void run() {
        List<Row> rows = rows(specs, prune == null ? null : PruningSpec.parse(prune));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(rows));
        } else {
            printTable(rows, out);
        }
        out.flush();
    }

    /** The rows for the given specs, or for every zoo model's defaults when none are given. */
    static List<Row> rows(List<String> specs) {
        return rows(specs, null);
    }

    /**
     * The rows for the given specs (every zoo model's defaults when none are given), with what
     * {@code pruning} would leave of each (null: no pruning shown). Structured pruning of a model
     * without channel groups fails when the model was asked for by name, and is left out of the
     * default listing.
     */
    static List<Row> rows(List<String> specs, PruningSpec pruning) {
        boolean all = specs == null || specs.isEmpty();
        List<String> wanted = all ? ModelZoo.names() : specs;
        List<Row> rows = new ArrayList<>();
        for (String s : wanted) {
            try (Model m = ModelZoo.build(s)) {
                PruningPreview pruned = null;
                if (pruning != null) {
                    if (all && pruning.method() == PruningSpec.Method.STRUCTURED && !PrunableChannels.supports(m.name())) {
                        continue;
                    }
                    pruned = PruningPreview.of(m, pruning);
                }
                rows.add(new Row(m.entry(), m.spec().toString(), m.parameterCount(), m.forwardFlops(), m.inputShape().dims(), m.classes(),
                        pruned));
            }
        }
        return rows;
    }

    /** The rows as JSON, with every option of each model. */
    static String toJson(List<Row> rows) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ArrayNode models = root.putArray("models");
        for (Row r : rows) {
            ObjectNode o = models.addObject();
            o.put("name", r.entry().name());
            o.put("spec", r.spec());
            o.put("parameters", r.parameters());
            o.put("forward_flops", r.forwardFlops());
            ArrayNode shape = o.putArray("input_shape");
            for (int d : r.inputShape()) {
                shape.add(d);
            }
            o.put("classes", r.classes());
            o.put("description", r.entry().description());
            ArrayNode options = o.putArray("options");
            for (ModelOption opt : r.entry().options()) {
                ObjectNode p = options.addObject();
                p.put("name", opt.name());
                p.put("default", opt.defaultValue());
                p.put("min", opt.min());
                p.put("max", opt.max());
                p.put("description", opt.description());
                p.put("derived", opt.derived()); // 0 means computed from the other options
            }
            if (r.pruned() != null) {
                PruningPreview p = r.pruned();
                ObjectNode pruned = o.putObject("pruned");
                pruned.put("prune", p.spec().toString());
                pruned.put("model", p.prunedModel());
                pruned.put("parameters", p.parametersAfter());
                pruned.put("forward_flops", p.flopsAfter());
                pruned.put("flops_ratio", p.flopsRatio());
            }
            ObjectNode recipe = o.putObject("recipe");
            for (Map.Entry<String, Object> e : ModelRecipes.forModel(r.entry().name()).entrySet()) {
                recipe.set(e.getKey(), mapper.valueToTree(e.getValue()));
            }
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not render the model list as JSON", e);
        }
    }

    /** The rows as a table, then each listed model's options and training recipe (once per model name). */
    static void printTable(List<Row> rows, PrintWriter out) {
        int specWidth = "MODEL".length();
        for (Row r : rows) {
            specWidth = Math.max(specWidth, r.spec().length());
        }
        String format = "%-" + specWidth + "s  %12s  %15s  %s%n";
        out.printf(Locale.ROOT, format, "MODEL", "PARAMETERS", "FORWARD FLOPS", "DESCRIPTION");
        for (Row r : rows) {
            out.printf(Locale.ROOT, format, r.spec(), String.format(Locale.ROOT, "%,d", r.parameters()),
                    String.format(Locale.ROOT, "%,d", r.forwardFlops()), r.entry().description());
        }
        out.println();
        if (rows.stream().anyMatch(r -> r.pruned() != null)) {
            printPruned(rows, out);
        }
        out.println("FORWARD FLOPS: per sample (for a language model, a window of context tokens), 2 per multiply-add of matmuls,"
                + " convolutions and attention (elementwise work not counted).");
        out.println("Options (NAME:key=value,...):");
        List<String> seen = new ArrayList<>();
        for (Row r : rows) {
            ZooEntry e = r.entry();
            if (seen.contains(e.name())) {
                continue;
            }
            seen.add(e.name());
            if (e.options().isEmpty()) {
                out.printf(Locale.ROOT, "  %s: none%n", e.name());
                continue;
            }
            for (ModelOption o : e.options()) {
                out.printf(Locale.ROOT, "  %s: %s%n", e.name(), o.describe());
            }
        }
        out.println("Training recipes (frugal train's defaults per model; --config and flags override them):");
        for (String name : seen) {
            out.printf(Locale.ROOT, "  %s: %s%n", name, ModelRecipes.describe(ModelRecipes.forModel(name)));
        }
    }

    /** Before and after pruning, one line per row. */
    private static void printPruned(List<Row> rows, PrintWriter out) {
        PruningSpec spec = rows.stream().filter(r -> r.pruned() != null).findFirst().orElseThrow().pruned().spec();
        out.println("Pruned (" + spec + "):");
        for (Row r : rows) {
            PruningPreview p = r.pruned();
            boolean structured = spec.method() == PruningSpec.Method.STRUCTURED;
            out.printf(Locale.ROOT, "  %s -> %s: parameters %,d -> %,d%s, forward FLOPs %,d -> %,d (%.2fx)%s%n", r.spec(), p.prunedModel(),
                    p.parametersBefore(), p.parametersAfter(), structured ? "" : " non-zero", p.flopsBefore(), p.flopsAfter(), p.flopsRatio(),
                    structured ? "" : " (dense kernels)");
        }
        out.println();
    }
}
