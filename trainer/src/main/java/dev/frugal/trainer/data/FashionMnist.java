package dev.frugal.trainer.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The Fashion-MNIST splits as {@link DataLoader.Source}s over a directory found by
 * {@link DatasetLocator}: 60,000 training and 10,000 test images of 28x28, 10 classes.
 */
public final class FashionMnist {
    /** Number of classes. */
    public static final int CLASSES = 10;

    private FashionMnist() {
    }

    /**
     * The training split (train-images / train-labels), decoded when the loader first needs it.
     *
     * @param dir a directory holding the dataset, gzipped or raw
     * @return the source
     */
    public static DataLoader.Source train(Path dir) {
        return () -> load(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
    }

    /**
     * The test split (t10k-images / t10k-labels), decoded when the loader first needs it.
     *
     * @param dir a directory holding the dataset, gzipped or raw
     * @return the source
     */
    public static DataLoader.Source test(Path dir) {
        return () -> load(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
    }

    private static ImageDataset load(Path dir, String images, String labels) throws IOException {
        DatasetSpec spec = DatasetSpec.FASHION_MNIST;
        return ImageDataset.fromIdx(file(dir, spec.part(images)), file(dir, spec.part(labels)), CLASSES);
    }

    private static Path file(Path dir, DatasetSpec.Part part) throws IOException {
        Path p = part.find(dir);
        if (p == null) {
            throw new IOException(dir + " has neither " + part.fileName() + " nor " + part.rawName()
                    + "; expected the Fashion-MNIST files there (see DatasetLocator)");
        }
        return p;
    }
}
