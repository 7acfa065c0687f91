package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real files from the Debian package: found, checksums as hard-coded, counts and labels. */
class FashionMnistRealDataTest {
    private static final Path REAL = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path home;

    @Test
    void realFilesDecodeWithTheExpectedCountsAndLabels() throws IOException {
        assumeTrue(Files.isDirectory(REAL), REAL + " is missing: `apt-get install dataset-fashion-mnist`");
        DatasetSpec spec = DatasetSpec.FASHION_MNIST;
        Path dir = new DatasetLocator(spec, k -> null, home, Path.of("/"), null).locate(null);
        assertEquals(REAL, dir);
        for (DatasetSpec.Part p : spec.parts()) {
            assertEquals(p.contentSha256(), DatasetDownloader.contentSha256(dir.resolve(p.fileName())), p.fileName());
        }
        check(dir.resolve("train-images-idx3-ubyte.gz"), dir.resolve("train-labels-idx1-ubyte.gz"), 60_000);
        check(dir.resolve("t10k-images-idx3-ubyte.gz"), dir.resolve("t10k-labels-idx1-ubyte.gz"), 10_000);
    }

    @Test
    void loaderServesTheRealTestSetInOneEpoch() {
        assumeTrue(Files.isDirectory(REAL), REAL + " is missing: `apt-get install dataset-fashion-mnist`");
        LoaderOptions opts = LoaderOptions.of(256).withSeed(1).withAugmentation(2, true)
                .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD);
        try (DataLoader loader = new DataLoader(FashionMnist.test(REAL), opts);
             DataLoader.Epoch epoch = loader.epoch(0)) {
            int samples = 0;
            int batches = 0;
            while (epoch.hasNext()) {
                Batch b = epoch.next();
                samples += b.size();
                batches++;
                for (long label : b.labels().toLongArray()) {
                    assertTrue(label >= 0 && label < 10, "label " + label);
                }
            }
            assertEquals(10_000, samples);
            assertEquals(40, batches); // 39 full batches of 256 and one of 16
        }
    }

    @Test
    void sourcesReadRawFilesAndNameWhatIsMissing() throws IOException {
        Path dir = IdxTestFiles.write(home, "t10k-images-idx3-ubyte", IdxTestFiles.idx(0x08, new int[] {2, 28, 28},
                new byte[2 * 28 * 28])).getParent();
        IOException missing = assertThrows(IOException.class, () -> FashionMnist.test(dir).load());
        assertTrue(missing.getMessage().contains("t10k-labels-idx1-ubyte.gz"), missing.getMessage());
        IdxTestFiles.write(home, "t10k-labels-idx1-ubyte", IdxTestFiles.idx(0x08, new int[] {2}, new byte[] {3, 9}));
        try (ImageDataset ds = FashionMnist.test(dir).load()) {
            assertEquals(2, ds.count());
            assertEquals(9, ds.label(1));
        }
    }

    private static void check(Path images, Path labels, int count) throws IOException {
        try (ImageDataset ds = ImageDataset.fromIdx(images, labels, 10)) {
            assertEquals(count, ds.count());
            assertEquals(28, ds.height());
            assertEquals(28, ds.width());
            int[] perClass = new int[10];
            for (int i = 0; i < count; i++) {
                perClass[ds.label(i)]++;
            }
            // Fashion-MNIST is balanced: every class has a tenth of the samples.
            for (int c = 0; c < 10; c++) {
                assertEquals(count / 10, perClass[c], "class " + c);
            }
        }
    }
}
