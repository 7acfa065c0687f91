package dev.frugal.trainer;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.DatasetLocator;
import dev.frugal.trainer.data.DatasetSpec;
import dev.frugal.trainer.data.DatasetUnavailableException;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training context on one device: the entry point of the Java API for services and test
 * harnesses. It creates models, data loaders, trainers and evaluators that run on its device and
 * closes every one of them (newest first) when it is closed. It holds no global state, so
 * several sessions can live in one JVM; it never prints and never exits the JVM.
 *
 * <pre>{@code
 * try (TrainingSession session = TrainingSession.open("cpu")) {
 *     Model model = session.model("mlp", 42);
 *     ...
 * }
 * }</pre>
 */
public final class TrainingSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingSession.class);

    private final String device;
    private final Executor executor;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private boolean closed;

    private TrainingSession(String device, Executor executor) {
        this.device = device;
        this.executor = executor;
    }

    /**
     * Opens a session on a device.
     *
     * @param device {@code cpu}, {@code cuda}, {@code cuda:N}, or {@code auto} (the first CUDA GPU
     *               when one opens, else the CPU)
     * @return the session; close it to free everything it created
     * @throws IllegalArgumentException for an unknown device, or a GPU that cannot be opened
     */
    public static TrainingSession open(String device) {
        TrainingDevice d = TrainingDevice.open(device, -1, LOG::info);
        TrainingSession session = new TrainingSession(d.device().toString(), d.isCuda() ? d.gpuExecutor() : Executor.cpu());
        session.owned.push(d); // closed last, after every program compiled on it
        return session;
    }

    /** The device this session runs on, e.g. {@code cpu}. */
    public String device() {
        return device;
    }

    /** The executor that compiles this session's programs. */
    public Executor executor() {
        return executor;
    }

    /**
     * Builds a zoo model and initialises it from {@code seed}.
     *
     * @param spec a model spec, e.g. {@code mlp} or {@code deep-mlp:depth=8}
     * @param seed the initialisation seed
     * @return the model, owned by this session
     */
    public Model model(String spec, long seed) {
        return own(ModelZoo.create(spec, seed));
    }

    /**
     * Builds a zoo model and loads the weights of the latest checkpoint under {@code checkpoints}.
     *
     * @param spec the model spec the checkpoint was trained with
     * @param checkpoints a checkpoint directory (a trainer's {@link TrainerConfig#checkpointDir()})
     * @return the model, owned by this session
     * @throws IOException when there is no checkpoint or it cannot be read
     */
    public Model loadModel(String spec, Path checkpoints) throws IOException {
        CheckpointStore store = new CheckpointStore(checkpoints);
        Model m = model(spec, 0);
        try (Checkpoint c = store.loadLatest().orElseThrow(() -> new IOException("no checkpoint under " + checkpoints))) {
            m.module().loadState(c.model());
        }
        return m;
    }

    /**
     * Finds Fashion-MNIST ({@code dir}, {@code FRUGAL_DATA}, the system dataset, the cache), downloading
     * it into the cache without a progress bar when none has it.
     *
     * @param dir a directory that holds it, or null to search
     * @return the directory holding the four files
     * @throws DatasetUnavailableException naming every place searched
     */
    public Path fashionMnist(Path dir) throws DatasetUnavailableException {
        return DatasetLocator.forThisMachine(DatasetSpec.FASHION_MNIST, null).locate(dir);
    }

    /**
     * A shuffled, normalised Fashion-MNIST training loader that drops the last partial batch.
     *
     * @param dir the dataset directory
     * @param batchSize samples per batch
     * @param seed the shuffle and augmentation seed
     * @return the loader, owned by this session
     */
    public DataLoader fashionMnistTrain(Path dir, int batchSize, long seed) {
        return own(new DataLoader(FashionMnist.train(dir), LoaderOptions.of(batchSize).withSeed(seed).withLastBatch(LastBatchPolicy.DROP)
                .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD)));
    }

    /**
     * The normalised Fashion-MNIST test set in order, in batches of 1000.
     *
     * @param dir the dataset directory
     * @return the loader, owned by this session
     */
    public DataLoader fashionMnistTest(Path dir) {
        return own(new DataLoader(FashionMnist.test(dir), LoaderOptions.of(1000).withShuffle(false)
                .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD)));
    }

    /**
     * A trainer of a zoo model on this session's device, on the model's task
     * ({@link TrainingTask#forModel}: image classification, or next-token prediction for a
     * language model, whose data is {@code text.TokenWindows}). With a memory budget
     * ({@link TrainerConfig#withMemoryBudget}) the trainer has a memory manager of its own, limited
     * to the budget less the model's and optimizer's tensors, and compiles every program before
     * its first step (see {@link Trainer}); without one it shares the session's.
     *
     * @param model the model (from {@link #model})
     * @param batchSize the training batch size
     * @param config how to train
     * @return the trainer, owned by this session
     * @throws IllegalArgumentException when the training cannot fit the memory budget, explaining the plan
     */
    public Trainer trainer(Model model, int batchSize, TrainerConfig config) {
        checkOpen();
        return own(new Trainer(model.module(), TrainingTask.forModel(model), batchSize, config, config.hasMemoryBudget() ? null : executor));
    }

    /**
     * A planner of training a zoo model within a memory budget on this session's device.
     *
     * @param model the model
     * @param config the optimizer and clipping, as for {@link #trainer}
     * @param budgetBytes the budget, or -1 for none
     * @param evalBatchSizes the evaluation batch sizes that coexist with the training step
     * @return the planner
     */
    public MemoryBudgetPlanner planner(Model model, TrainerConfig config, long budgetBytes, java.util.List<Integer> evalBatchSizes) {
        checkOpen();
        return new MemoryBudgetPlanner(model.module(), TrainingTask.forModel(model), config, budgetBytes, evalBatchSizes);
    }

    /**
     * An evaluator of a zoo model on this session's device.
     *
     * @param model the model
     * @return the evaluator, owned by this session
     */
    public Evaluator evaluator(Model model) {
        checkOpen();
        return own(new Evaluator(model.module(), TrainingTask.forModel(model), executor));
    }

    private <T extends AutoCloseable> T own(T resource) {
        if (closed) {
            try {
                resource.close();
            } catch (Exception e) {
                LOG.debug("closing a resource created after the session closed failed", e);
            }
            throw new IllegalStateException("training session is closed");
        }
        owned.push(resource);
        return resource;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("training session is closed");
        }
    }

    /**
     * Closes everything this session created, newest first (trainers before their models).
     * Idempotent. A failure to close one resource does not stop the others; the first is rethrown.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException first = null;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException("closing failed: " + e.getMessage(), e);
                if (first == null) {
                    first = r;
                } else {
                    first.addSuppressed(r);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
