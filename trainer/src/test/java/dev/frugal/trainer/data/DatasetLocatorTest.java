package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Search order and error messages, over fake directories (the locator only checks presence). */
class DatasetLocatorTest {
    private static final DatasetSpec SPEC = DatasetSpec.FASHION_MNIST;

    @TempDir
    Path tmp;
    Path home;
    Path root;

    @BeforeEach
    void dirs() throws IOException {
        home = Files.createDirectories(tmp.resolve("home"));
        root = Files.createDirectories(tmp.resolve("root"));
    }

    private static Path fill(Path dir, boolean gz) throws IOException {
        Files.createDirectories(dir);
        for (DatasetSpec.Part p : SPEC.parts()) {
            Files.writeString(dir.resolve(gz ? p.fileName() : p.rawName()), "x");
        }
        return dir;
    }

    private DatasetLocator locator(Map<String, String> env) {
        return new DatasetLocator(SPEC, env::get, home, root, null);
    }

    @Test
    void searchOrderIsDataThenEnvThenSystemThenCache() throws IOException {
        Path data = fill(tmp.resolve("data"), true);
        Path envDir = fill(tmp.resolve("env"), false);
        DatasetLocator withEnv = locator(Map.of(DatasetLocator.ENV, envDir.toString()));
        Path system = fill(withEnv.systemDir(), true);
        Path cache = fill(withEnv.cacheDir(), true);
        assertEquals(root.resolve("usr/share/datasets/fashion-mnist"), system);
        assertEquals(home.resolve(".cache/frugal/datasets/fashion-mnist"), cache);

        assertEquals(data, withEnv.locate(data));
        assertEquals(envDir, withEnv.locate(null));
        assertEquals(system, locator(Map.of()).locate(null));
        deleteTree(system);
        assertEquals(cache, locator(Map.of()).locate(null));
    }

    @Test
    void dataAndEnvAcceptTheDatasetSubdirectory() throws IOException {
        fill(tmp.resolve("parent/fashion-mnist"), true);
        Path parent = tmp.resolve("parent");
        assertEquals(parent.resolve("fashion-mnist"), locator(Map.of()).locate(parent));
        assertEquals(parent.resolve("fashion-mnist"),
                locator(Map.of(DatasetLocator.ENV, parent.toString())).locate(null));
    }

    @Test
    void incompleteDirectoryIsSkipped() throws IOException {
        Path envDir = fill(tmp.resolve("env"), true);
        Files.delete(envDir.resolve("t10k-labels-idx1-ubyte.gz"));
        DatasetLocator l = locator(Map.of(DatasetLocator.ENV, envDir.toString()));
        Path cache = fill(l.cacheDir(), true);
        assertEquals(cache, l.locate(null));
    }

    @Test
    void explicitDataDirectoryIsBinding() throws IOException {
        DatasetLocator l = locator(Map.of());
        fill(l.systemDir(), true);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class, () -> l.locate(empty));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("missing train-images-idx3-ubyte.gz"), e.getMessage());
    }

    @Test
    void missingEverywhereNamesEveryPlaceAndHowToGetIt() {
        Path envDir = tmp.resolve("nowhere");
        DatasetLocator l = locator(Map.of(DatasetLocator.ENV, envDir.toString()));
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class, () -> l.locate(null));
        String m = e.getMessage();
        for (Path p : new Path[] {envDir, l.systemDir(), l.cacheDir()}) {
            assertTrue(m.contains(p.toString()), "names " + p + ": " + m);
        }
        assertTrue(m.contains(DatasetLocator.ENV), m);
        assertTrue(m.contains("apt-get install dataset-fashion-mnist"), m);
        assertTrue(m.contains("--data"), m);
        assertNull(e.getCause());
        String unset = assertThrows(DatasetUnavailableException.class, () -> locator(Map.of()).locate(null))
                .getMessage();
        assertTrue(unset.contains("FRUGAL_DATA: not set"), unset);
    }

    static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
