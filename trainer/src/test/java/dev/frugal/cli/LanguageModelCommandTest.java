package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cli.TrainCommandTest.Result;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.text.TokenizerFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code frugal train --model tiny-gpt --dataset text}, {@code frugal sample}, {@code frugal eval}
 * and {@code frugal plan} end to end on small generated texts with a tiny tiny-gpt (one block,
 * width 32, two heads, context 32): the run directory of a language model, the held-out loss
 * falling below ln(vocab), deterministic sampling of the requested length, greedy decoding that
 * continues a learned pattern, resuming, and the one-line errors of bad input.
 */
class LanguageModelCommandTest {
    private static final String TINY = "tiny-gpt:layers=1,width=32,heads=2,context=32";

    @TempDir
    static Path dir;
    /** Random sentences over a small vocabulary: about 15,000 characters, 20 distinct. */
    static Path words;
    /** One pattern over and over: every character determines the next. */
    static Path pattern;
    /** Where the words run trained (char tokenizer), shared by the sampling and evaluation tests. */
    static Path wordsRun;

    @BeforeAll
    static void writeTextsAndTrain() throws IOException {
        SplittableRandom rnd = new SplittableRandom(4);
        String[] vocabulary = "the cat sat on a mat and dog ran to big red sun in sky".split(" ");
        StringBuilder text = new StringBuilder();
        while (text.length() < 15_000) {
            text.append(vocabulary[rnd.nextInt(vocabulary.length)]).append(rnd.nextInt(8) == 0 ? ".\n" : " ");
        }
        words = Files.writeString(dir.resolve("words.txt"), text);
        pattern = Files.writeString(dir.resolve("pattern.txt"), "abcdefgh".repeat(1500));
        wordsRun = dir.resolve("words-run");
        Result r = train(wordsRun, words, "--tokenizer", "char", "--steps", "40", "--batch-size", "16", "--lr", "3e-3");
        assertEquals(0, r.code(), r.out() + r.err());
    }

    private static Result train(Path run, Path text, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", TINY, "--dataset", "text", "--data", text.toString(),
                "--seed", "1", "--no-progress", "--run-dir", run.toString()));
        args.addAll(List.of(extra));
        return TrainCommandTest.frugal(args.toArray(String[]::new));
    }

    private static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    private static List<JsonNode> records(Path run, String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (type.equals(n.get("type").asText())) {
                out.add(n);
            }
        }
        return out;
    }

    @Test
    void aTextRunWritesALanguageModelsRunDirectoryAndItsValLossFalls() throws IOException {
        for (String f : List.of("config.json", "env.json", "metrics.jsonl", "summary.json", TokenizerFile.NAME, "report.html")) {
            assertTrue(Files.isRegularFile(wordsRun.resolve(f)), f);
        }
        JsonNode cfg = json(wordsRun.resolve("config.json"));
        assertEquals("text", cfg.get("dataset").asText());
        assertEquals("char", cfg.get("tokenizer").asText());
        int vocab = json(wordsRun.resolve(TokenizerFile.NAME)).get("vocab_size").asInt();
        assertEquals(TINY + ",vocab=" + vocab, cfg.get("model").asText(), "the model's vocabulary is the tokenizer's");
        assertEquals("val_loss", cfg.get("early-stopping-metric").asText(), "a text run watches the held-out loss");

        JsonNode summary = json(wordsRun.resolve("summary.json"));
        assertTrue(summary.has("val_loss") && !summary.has("test_accuracy"), summary.toString());
        double valLoss = summary.get("val_loss").asDouble();
        assertTrue(valLoss < Math.log(vocab) - 0.5, "val_loss " + valLoss + " fell below ln(" + vocab + ") = " + Math.log(vocab));
        assertEquals(40, summary.get("steps").asLong());
        assertEquals(32 * summary.get("samples_per_second").asDouble(), summary.get("tokens_per_second").asDouble(), 1e-6);

        List<JsonNode> evals = records(wordsRun, "eval");
        assertEquals(2, evals.size(), "after the first epoch (13,500 tokens / (16 * 32) = 26 steps) and at step 40");
        List<String> fields = new ArrayList<>();
        evals.getFirst().fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("type", "epoch", "step", "val_loss", "train_loss"), fields);
        assertEquals(valLoss, evals.getLast().get("val_loss").asDouble());
        JsonNode epoch = records(wordsRun, "epoch").getFirst();
        for (String field : List.of("wall_seconds", "device_seconds", "energy_joules", "samples")) {
            assertTrue(epoch.has(field), field + " in " + epoch);
        }
    }

    @Test
    void samplingPrintsThePromptAndTheRequestedTokensTheSameForTheSameSeed() {
        Result a = TrainCommandTest.frugal("sample", wordsRun.toString(), "--prompt", "the ", "--tokens", "60", "--seed", "7");
        assertEquals(0, a.code(), a.err());
        String text = a.out().substring(0, a.out().length() - System.lineSeparator().length());
        assertTrue(text.startsWith("the "), text);
        assertEquals(4 + 60, text.codePointCount(0, text.length()), "a char tokenizer's token is one character: " + text);
        assertEquals(a.out(), TrainCommandTest.frugal("sample", wordsRun.toString(), "--prompt", "the ", "--tokens", "60", "--seed", "7").out(),
                "the same seed, the same text");
        assertNotEquals(a.out(), TrainCommandTest.frugal("sample", wordsRun.toString(), "--prompt", "the ", "--tokens", "60", "--seed", "8").out(),
                "another seed, other draws");
    }

    @Test
    void anEarlierCheckpointSamplesDifferently() throws IOException {
        String firstEpoch = records(wordsRun, "eval").getFirst().get("step").asText();
        Result early = TrainCommandTest.frugal("sample", wordsRun.toString(), "--prompt", "a", "--tokens", "40", "--checkpoint", firstEpoch);
        assertEquals(0, early.code(), early.err());
        assertNotEquals(TrainCommandTest.frugal("sample", wordsRun.toString(), "--prompt", "a", "--tokens", "40").out(), early.out());
    }

    @Test
    void greedySamplingOfAModelTrainedOnARepeatingTextContinuesThePattern(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("pattern-run");
        Result r = train(run, pattern, "--steps", "60", "--batch-size", "8", "--lr", "1e-2");
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("byte", json(run.resolve(TokenizerFile.NAME)).get("kind").asText(), "bytes by default");
        assertTrue(json(run.resolve("summary.json")).get("val_loss").asDouble() < 0.1, "a deterministic text is learned");
        Result s = TrainCommandTest.frugal("sample", run.toString(), "--prompt", "cde", "--tokens", "45", "--temperature", "0");
        assertEquals(0, s.code(), s.err());
        // 48 tokens: longer than the context of 32, so the window slides
        assertEquals("cde" + "fghabcde".repeat(6).substring(0, 45), s.out().strip());

        Result eval = TrainCommandTest.frugal("eval", run.toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("step 60: val loss ") && eval.out().contains("nats per token"), eval.out());
        double summaryLoss = json(run.resolve("summary.json")).get("val_loss").asDouble();
        assertTrue(eval.out().contains(String.format(java.util.Locale.ROOT, "val loss %.4f", summaryLoss)), eval.out() + " vs " + summaryLoss);
    }

    @Test
    void structuredPruningNarrowsEveryBlocksMlpAndTheSmallerModelKeepsTheValLoss(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("pruned-run");
        Result r = train(run, words, "--tokenizer", "char", "--steps", "30", "--batch-size", "16", "--lr", "3e-3",
                "--prune", "structured:0.5,start=0,end=50%");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode summary = json(run.resolve("summary.json"));
        JsonNode p = summary.get("pruning");
        int vocab = json(run.resolve(TokenizerFile.NAME)).get("vocab_size").asInt();
        // the MLP's 4 x 32 units halve; attention, embeddings and the residual width stay
        assertEquals(TINY + ",vocab=" + vocab + ",hidden=64", p.get("pruned_model").asText(), p.toString());
        assertEquals("64/128", p.get("kept_channels").get("blocks.0.hidden").asText());
        assertTrue(p.get("parameters_after").asLong() < p.get("parameters_before").asLong(), p.toString());
        assertFalse(p.has("test_accuracy_pruned_model"), "a language model has no accuracy: " + p);
        assertEquals(summary.get("val_loss").asDouble(), p.get("val_loss_pruned_model").asDouble(), 1e-5, p.toString());

        Result eval = TrainCommandTest.frugal("eval", run.toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("(pruned)"), eval.out());
    }

    @Test
    void aResumedTextRunEndsAsAnUninterruptedOne(@TempDir Path tmp) throws IOException {
        Path whole = tmp.resolve("whole");
        assertEquals(0, train(whole, pattern, "--epochs", "2", "--batch-size", "8").code());
        Path crashed = tmp.resolve("crashed");
        assertEquals(0, train(crashed, pattern, "--epochs", "2", "--batch-size", "8").code());
        // killed during the second epoch: only the first epoch's checkpoint, no summary
        try (Stream<Path> checkpoints = Files.list(crashed.resolve("checkpoints"))) {
            List<Path> all = checkpoints.sorted().toList();
            assertEquals(2, all.size(), all.toString());
            AtomicFiles.deleteRecursively(all.getLast());
        }
        Files.delete(crashed.resolve("summary.json"));
        Result r = TrainCommandTest.frugal("train", "--resume", crashed.toString(), "--no-progress");
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(json(whole.resolve("summary.json")).get("val_loss"), json(crashed.resolve("summary.json")).get("val_loss"));
    }

    @Test
    void planShowsTheLanguageModelStepAndWhatCheckpointingSaves() throws IOException {
        String model = "tiny-gpt:layers=2,width=64,heads=2,context=256";
        Result roomy = TrainCommandTest.frugal("plan", "--model", model, "--batch-size", "8", "--json");
        assertEquals(0, roomy.code(), roomy.err());
        JsonNode plain = new ObjectMapper().readTree(roomy.out());
        assertEquals(16, plain.get("evaluation_batch_size").asInt(), "held-out windows in batches of 16");
        long budget = (long) (plain.get("predicted_peak_bytes").asLong() * 0.75);
        Result tight = TrainCommandTest.frugal("plan", "--model", model, "--batch-size", "8", "--memory-budget", Long.toString(budget), "--json");
        assertEquals(0, tight.code(), tight.out() + tight.err());
        JsonNode planned = new ObjectMapper().readTree(tight.out());
        assertTrue(planned.get("fits").asBoolean());
        assertFalse(planned.get("checkpoints").isEmpty(), "recomputes forward segments: " + planned);
        assertTrue(planned.get("activation_bytes").asLong() < plain.get("activation_bytes").asLong(), planned.toString());
    }

    @Test
    void badInputIsAOneLineErrorNamingWhatIsWrong(@TempDir Path tmp) throws IOException {
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "x".repeat(100));
        Path empty = Files.createFile(tmp.resolve("empty.txt"));
        List<List<String>> cases = List.of(
                List.of("--data", tmp.resolve("missing.txt").toString(), "missing.txt"),
                List.of("--data", empty.toString(), "is empty; expected a text to train on"),
                List.of("--data", shortText.toString(), "holds 100 tokens; its held-out tail (the last 10.0%, 10 tokens) is shorter than"
                        + " one window of context + 1 = 33 tokens"),
                List.of("--data", words.toString(), "--tokenizer", "bpe", "unknown tokenizer 'bpe'; valid: byte, char"),
                List.of("--data", words.toString(), "--val-fraction", "1.5", "val-fraction must be above 0 and below 1"),
                List.of("--data", words.toString(), "--curriculum", "curriculum:warmup=5,steps=10", "--curriculum ranks training images"),
                List.of("--data", words.toString(), "--early-stopping-metric", "test_accuracy", "--early-stopping-patience", "2",
                        "unknown metric 'test_accuracy'; every evaluation carries: val_loss, train_loss"));
        for (List<String> c : cases) {
            List<String> args = new ArrayList<>(List.of("train", "--model", TINY, "--dataset", "text", "--no-progress", "--run-dir",
                    tmp.resolve("r" + cases.indexOf(c)).toString()));
            args.addAll(c.subList(0, c.size() - 1));
            Result r = TrainCommandTest.frugal(args.toArray(String[]::new));
            assertEquals(2, r.code(), c + ": " + r.out() + r.err());
            assertTrue(r.err().startsWith("frugal train: ") && r.err().contains(c.getLast()), c + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(tmp.resolve("r" + cases.indexOf(c))), "no run directory is left behind: " + c);
        }
        Result noFile = TrainCommandTest.frugal("train", "--model", TINY, "--dataset", "text", "--no-progress");
        assertTrue(noFile.err().contains("--dataset text needs the text file: --data FILE"), noFile.err());
        Result small = TrainCommandTest.frugal("train", "--model", TINY + ",vocab=5", "--dataset", "text", "--data", words.toString(),
                "--tokenizer", "char", "--no-progress", "--run-dir", tmp.resolve("v").toString());
        assertEquals(2, small.code());
        assertTrue(small.err().contains("has vocab=5 but the char tokenizer of " + words + " needs 20 ids"), small.err());
        Result image = TrainCommandTest.frugal("train", "--model", "mlp", "--dataset", "text", "--data", words.toString(), "--no-progress");
        assertTrue(image.err().contains("--dataset text trains a language model") && image.err().contains("tiny-gpt")
                && image.err().contains("mlp classifies images"), image.err());
        Result lm = TrainCommandTest.frugal("train", "--model", TINY, "--dataset", "fashion-mnist", "--data", tmp.toString(), "--no-progress");
        assertEquals(2, lm.code());
        assertTrue(lm.err().contains("tiny-gpt is a language model; train it on a text file: --dataset text --data FILE"), lm.err());
    }

    @Test
    void sampleRefusesWhatItCannotSampleFrom(@TempDir Path tmp) throws IOException {
        Path imageRun = Files.createDirectories(tmp.resolve("image-run"));
        Files.writeString(imageRun.resolve("config.json"), new ObjectMapper().writeValueAsString(TrainConfig.defaults()), StandardCharsets.UTF_8);
        List<List<String>> cases = List.of(
                List.of(tmp.toString(), "--prompt", "a", "has no config.json; expected a run directory of frugal train"),
                List.of(imageRun.toString(), "--prompt", "a", "trained cnn-small on fashion-mnist, not a language model"),
                List.of(wordsRun.toString(), "--prompt", "", "--prompt is empty"),
                List.of(wordsRun.toString(), "--prompt", "the zebra€", "--prompt: 2 character(s) outside the char tokenizer's vocabulary"
                        + " of 20 (the training text's characters): 'z' (U+007A), '€' (U+20AC)"),
                List.of(wordsRun.toString(), "--prompt", "a", "--tokens", "0", "--tokens 0: expected at least 1 token"),
                List.of(wordsRun.toString(), "--prompt", "a", "--temperature", "-1", "temperature -1.0, expected 0 (greedy)"),
                List.of(wordsRun.toString(), "--prompt", "a", "--checkpoint", "7", "--checkpoint 7: no checkpoint of that step"));
        for (List<String> c : cases) {
            List<String> args = new ArrayList<>(List.of("sample"));
            args.addAll(c.subList(0, c.size() - 1));
            Result r = TrainCommandTest.frugal(args.toArray(String[]::new));
            assertEquals(2, r.code(), c + ": " + r.out() + r.err());
            assertTrue(r.err().startsWith("frugal sample: ") && r.err().contains(c.getLast()), c + ": " + r.err());
        }
    }
}
