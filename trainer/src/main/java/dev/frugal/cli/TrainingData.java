package dev.frugal.cli;

import dev.frugal.models.zoo.ModelSpec;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.models.zoo.ZooEntry;
import dev.frugal.trainer.NextTokenPrediction;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.Curriculum;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.DatasetLocator;
import dev.frugal.trainer.data.DatasetSpec;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.data.ImageDataset;
import dev.frugal.trainer.text.TextCorpus;
import dev.frugal.trainer.text.TokenWindows;
import dev.frugal.trainer.text.Tokenizer;
import dev.frugal.trainer.text.TokenizerFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@code frugal train} run reads, by its {@code dataset}: Fashion-MNIST for an image
 * classifier, or a text file for a language model. Each makes the evaluation and training
 * batches the trainer's loop reads, and checks that the model suits the data.
 */
sealed interface TrainingData permits TrainingData.Images, TrainingData.Text {

    /**
     * Finds or reads the run's data.
     *
     * @param cfg the run's configuration
     * @param resumedRun the run directory being resumed (a text run's tokenizer is read from it), or null
     * @param progress where a dataset download draws its progress
     * @return the data
     * @throws IOException when the data cannot be found or read
     * @throws IllegalArgumentException when the model does not suit the dataset (checked first), or a
     *     text file is empty, cannot be tokenized or is too short
     */
    static TrainingData load(TrainConfig cfg, Path resumedRun, PrintStream progress) throws IOException {
        if (!cfg.textDataset()) {
            Images.checkModel(cfg);
            return new Images(DatasetLocator.forThisMachine(DatasetSpec.FASHION_MNIST, progress).locate(cfg.data()));
        }
        Path file = cfg.data();
        byte[] content = TextCorpus.read(file);
        Tokenizer tokenizer = resumedRun != null ? TokenizerFile.read(resumedRun) : Tokenizer.fit(cfg.tokenizer(), content, file.toString());
        int context = Text.context(cfg.model());
        int[] tokens = tokenizer.encodeFile(content, file.toString());
        return new Text(TextCorpus.split(file, tokenizer, tokens, cfg.valFraction(), context), context);
    }

    /**
     * The configuration the run trains with: checks that the model suits the data, and for text
     * sets the model's vocabulary from the tokenizer when the spec does not give it.
     *
     * @param cfg the run's configuration
     * @return the configuration, maybe with another model spec
     * @throws IllegalArgumentException when the model does not suit the data, or its vocabulary is too small
     */
    TrainConfig configure(TrainConfig cfg);

    /**
     * The evaluation batches: the test set, or the held-out tail's windows.
     *
     * @param budgeted whether training runs under a memory budget (smaller evaluation batches)
     * @return the source; the caller closes it
     */
    BatchSource evaluation(boolean budgeted);

    /**
     * The training batches of a configuration.
     *
     * @param cfg the run's configuration (batch size, seed, augmentation)
     * @param curriculum the curriculum, or null
     * @return the source; the caller closes it
     * @throws IOException when the data cannot be read
     * @throws IllegalArgumentException when the augmentation does not fit the images
     */
    BatchSource training(TrainConfig cfg, Curriculum curriculum) throws IOException;

    /**
     * Fashion-MNIST, found in a directory.
     *
     * @param dir the directory holding its four files
     */
    record Images(Path dir) implements TrainingData {
        /** Refuses a language model: it reads token ids, not images. */
        static void checkModel(TrainConfig cfg) {
            ZooEntry entry = ModelZoo.entry(ModelZoo.parse(cfg.model()).name());
            if (NextTokenPrediction.isLanguageModel(entry)) {
                throw new IllegalArgumentException("model " + entry.name() + " is a language model; train it on a text file:"
                        + " --dataset text --data FILE (dataset " + cfg.dataset() + " holds images)");
            }
        }

        @Override
        public TrainConfig configure(TrainConfig cfg) {
            return cfg;
        }

        @Override
        public BatchSource evaluation(boolean budgeted) {
            return new DataLoader(FashionMnist.test(dir), TrainCommand.evaluationOptions(budgeted));
        }

        @Override
        public BatchSource training(TrainConfig cfg, Curriculum curriculum) throws IOException {
            DataLoader train = new DataLoader(FashionMnist.train(dir), TrainCommand.trainingOptions(cfg), curriculum);
            try {
                ImageDataset trainSet = train.dataset();
                cfg.augmentation().checkFits(trainSet.height(), trainSet.width());
                return train;
            } catch (IOException | RuntimeException e) {
                train.close();
                throw e;
            }
        }
    }

    /**
     * A text file, tokenized and split, for a language model of the given context.
     *
     * @param corpus the training tokens and the held-out tail
     * @param context the model's context: tokens per window
     */
    record Text(TextCorpus corpus, int context) implements TrainingData {
        /** Evaluation batch, in windows: evaluation has no backward pass, so a few windows keep the matmuls large. */
        static final int EVAL_BATCH = 16;
        /** Evaluation batch under a memory budget: at a long context one window's forward activations are large. */
        static final int BUDGETED_EVAL_BATCH = 4;

        /** The {@code context} of a language model's spec; a spec of another model is refused. */
        static int context(String modelSpec) {
            ModelSpec spec = ModelZoo.parse(modelSpec);
            if (!NextTokenPrediction.isLanguageModel(ModelZoo.entry(spec.name()))) {
                throw new IllegalArgumentException("--dataset text trains a language model (a zoo model with "
                        + NextTokenPrediction.CONTEXT_OPTION + " and " + NextTokenPrediction.VOCAB_OPTION + " options: "
                        + String.join(", ", languageModels()) + "); " + spec.name() + " classifies images, train it on fashion-mnist");
            }
            return spec.get(NextTokenPrediction.CONTEXT_OPTION);
        }

        /** The zoo's language models. */
        static List<String> languageModels() {
            List<String> names = new ArrayList<>();
            for (ZooEntry e : ModelZoo.entries()) {
                if (NextTokenPrediction.isLanguageModel(e)) {
                    names.add(e.name());
                }
            }
            return names;
        }

        @Override
        public TrainConfig configure(TrainConfig cfg) {
            int needed = corpus.tokenizer().vocabSize();
            String given = givenOption(cfg.model(), NextTokenPrediction.VOCAB_OPTION);
            if (given == null) {
                // the model's vocabulary is the tokenizer's, recorded in config.json's model spec
                ModelSpec spec = ModelZoo.parse(cfg.model());
                Map<String, Integer> options = new LinkedHashMap<>(spec.options());
                options.put(NextTokenPrediction.VOCAB_OPTION, needed);
                // parsed again, so that a vocabulary outside the option's range is refused with the zoo's message
                return cfg.withOverrides(Map.of("model", ModelZoo.parse(new ModelSpec(spec.name(), options).toString()).toString()));
            }
            int vocab = ModelZoo.parse(cfg.model()).get(NextTokenPrediction.VOCAB_OPTION);
            if (vocab < needed) {
                throw new IllegalArgumentException("model " + cfg.model() + " has vocab=" + vocab + " but the " + corpus.tokenizer().kind()
                        + " tokenizer of " + corpus.file() + " needs " + needed + " ids; give vocab=" + needed
                        + " or more, or leave vocab out to take the tokenizer's");
            }
            return cfg;
        }

        @Override
        public BatchSource evaluation(boolean budgeted) {
            return TokenWindows.heldOut(corpus.validation(), context, budgeted ? BUDGETED_EVAL_BATCH : EVAL_BATCH);
        }

        @Override
        public BatchSource training(TrainConfig cfg, Curriculum curriculum) {
            return TokenWindows.random(corpus.training(), context, cfg.batchSize(), cfg.seed());
        }

        /** The value a spec text gives an option, or null when it leaves it to the default. */
        private static String givenOption(String spec, String option) {
            int colon = spec.indexOf(':');
            if (colon < 0) {
                return null;
            }
            for (String pair : spec.substring(colon + 1).split(",")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).strip().equals(option)) {
                    return pair.substring(eq + 1).strip();
                }
            }
            return null;
        }
    }
}
