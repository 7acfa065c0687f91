package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code frugal models}: the table, the JSON fields, specs with options, and bad specs. */
class ModelsCommandTest {
    private static final long MLP_PARAMETERS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
    private static final long MLP_FLOPS = 2L * (784 * 256 + 256 * 128 + 128 * 10);

    @Test
    void tableListsEveryZooModelWithCountsAndOptions() {
        Result r = execute("models");

        assertEquals(0, r.code, r.err);
        List<String> lines = r.out.lines().toList();
        assertTrue(lines.get(0).matches("MODEL\\s+PARAMETERS\\s+FORWARD FLOPS\\s+DESCRIPTION"), lines.get(0));
        assertTrue(lines.get(1).startsWith("mlp:hidden1=256,hidden2=128 "), lines.get(1));
        assertTrue(lines.get(1).contains(String.format(java.util.Locale.ROOT, " %,d ", MLP_PARAMETERS)), lines.get(1));
        assertTrue(lines.get(1).contains(String.format(java.util.Locale.ROOT, " %,d ", MLP_FLOPS)), lines.get(1));
        assertTrue(lines.get(2).startsWith("cnn-small:"), lines.get(2));
        assertTrue(lines.get(3).startsWith("mobilenet-tiny:width=32 "), lines.get(3));
        assertTrue(lines.get(4).startsWith("deep-mlp:depth=8,width=256 "), lines.get(4));
        assertTrue(r.out.contains("  deep-mlp: depth (default 8, 0..4096): number of residual blocks"), r.out);
    }

    @Test
    void tableShowsEachModelsTrainingRecipe() {
        Result r = execute("models");

        assertEquals(0, r.code, r.err);
        String recipes = r.out.substring(r.out.indexOf("Training recipes"));
        assertTrue(recipes.contains("  mlp: epochs=2 optimizer=adamw lr=0.001 weight-decay=0.0 schedule=warmup-cosine:warmup=2.67% batch-size=16"), recipes);
        assertTrue(recipes.contains("  cnn-small: epochs=3 "), recipes);
        assertTrue(recipes.contains("  mobilenet-tiny: epochs=5 "), recipes);
        assertTrue(recipes.contains("  deep-mlp: none (the global defaults)"), recipes);
    }

    @Test
    void jsonHasTheDocumentedFieldsAndExactCounts() throws Exception {
        Result r = execute("models", "--json");

        assertEquals(0, r.code, r.err);
        JsonNode models = new ObjectMapper().readTree(r.out).get("models");
        assertEquals(5, models.size());
        JsonNode mlp = models.get(0);
        List<String> fields = new ArrayList<>();
        mlp.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("name", "spec", "parameters", "forward_flops", "input_shape", "classes", "description", "options", "recipe"), fields);
        assertEquals("mlp", mlp.get("name").asText());
        assertEquals(MLP_PARAMETERS, mlp.get("parameters").longValue());
        assertEquals(MLP_FLOPS, mlp.get("forward_flops").longValue());
        assertEquals("[1,28,28]", mlp.get("input_shape").toString());
        assertEquals(10, mlp.get("classes").intValue());
        assertEquals("hidden1", mlp.get("options").get(0).get("name").asText());
        assertEquals(256, mlp.get("options").get(0).get("default").intValue());
        assertFalse(mlp.get("options").get(0).get("derived").booleanValue());
        assertTrue(models.get(2).get("options").get(1).get("derived").booleanValue(), "mobilenet-tiny's block1 follows its width");
        assertTrue(models.get(2).get("parameters").longValue() <= 300_000, "mobilenet-tiny stays under 300K parameters");
        assertEquals("{\"epochs\":2,\"optimizer\":\"adamw\",\"lr\":0.001,\"weight-decay\":0.0,\"schedule\":\"warmup-cosine:warmup=2.67%\",\"batch-size\":16}",
                mlp.get("recipe").toString());
        assertEquals(5, models.get(2).get("recipe").get("epochs").intValue());
        assertEquals(0, models.get(3).get("recipe").size(), "deep-mlp trains with the global defaults");
    }

    @Test
    void tinyGptIsListedWithItsParametersItsSpecsShapeAndItsRecipe() throws Exception {
        Result table = execute("models");
        assertEquals(0, table.code, table.err);
        String row = table.out.lines().filter(l -> l.startsWith("tiny-gpt:")).findFirst().orElseThrow(() -> new AssertionError(table.out));
        assertTrue(row.startsWith("tiny-gpt:layers=6,width=384,heads=6,context=256,vocab=256 "), row);
        assertTrue(table.out.contains("  tiny-gpt: dataset=text "), table.out);

        Result r = execute("models", "--json", "tiny-gpt:layers=2,width=128,heads=4,context=128,vocab=96");
        assertEquals(0, r.code, r.err);
        JsonNode m = new ObjectMapper().readTree(r.out).get("models").get(0);
        long width = 128;
        long block = 2 * width + (width * 3 * width + 3 * width) + (width * width + width) + 2 * width
                + (width * 4 * width + 4 * width) + (4 * width * width + width);
        // token and position embeddings (the output projection is tied to the token embedding), two blocks, the final norm
        assertEquals(96 * width + 128 * width + 2 * block + 2 * width, m.get("parameters").longValue());
        assertEquals("[128]", m.get("input_shape").toString(), "[context] token ids, as the spec says");
        assertEquals(96, m.get("classes").intValue(), "logits per position: the spec's vocabulary");
        assertEquals("text", m.get("recipe").get("dataset").asText());
    }

    @Test
    void specsListThoseConfigurations() throws Exception {
        Result r = execute("models", "--json", "deep-mlp:depth=2,width=16");

        assertEquals(0, r.code, r.err);
        JsonNode m = new ObjectMapper().readTree(r.out).get("models").get(0);
        assertEquals("deep-mlp:depth=2,width=16", m.get("spec").asText());
        long w = 16;
        assertEquals(784 * w + w + 2 * (2 * w + 2 * (w * w + w)) + 2 * w + w * 10 + 10, m.get("parameters").longValue());
    }

    @Test
    void badSpecFailsWithTheValidChoicesAndNoStackTrace() {
        Result r = execute("models", "resnet");
        assertEquals(2, r.code);
        assertTrue(r.err.contains("unknown model 'resnet'; valid models: mlp, cnn-small, mobilenet-tiny, deep-mlp, tiny-gpt"), r.err);
        assertTrue(!r.err.contains("\tat "), r.err);

        r = execute("models", "deep-mlp:size=3");
        assertEquals(2, r.code);
        assertTrue(r.err.contains("has no option 'size'") && r.err.contains("depth (default 8") && r.err.contains("width (default 256"), r.err);
    }

    @Test
    void helpDescribesTheCommandAndItsArguments() {
        Result r = execute("models", "--help");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("List the model zoo") && r.out.contains("[SPEC...]") && r.out.contains("--json"), r.out);
    }

    private record Result(int code, String out, String err) {
    }

    private static Result execute(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }
}
