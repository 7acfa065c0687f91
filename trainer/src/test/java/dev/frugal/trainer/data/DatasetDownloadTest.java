package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Downloads from a loopback HTTP server serving the real Fashion-MNIST files (from the Debian
 * package), and the two ways a download goes wrong: wrong bytes and a connection cut mid-body.
 */
class DatasetDownloadTest {
    private static final Path REAL = Path.of("/usr/share/datasets/fashion-mnist");
    private static final String LABELS = "t10k-labels-idx1-ubyte.gz";

    @TempDir
    Path tmp;
    private HttpServer server;
    /** How the server answers each file: the body, and whether to cut it off half-way. */
    private final Map<String, byte[]> bodies = new ConcurrentHashMap<>();
    private final Map<String, Boolean> cut = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        assumeTrue(Files.isDirectory(REAL), REAL + " is missing: `apt-get install dataset-fashion-mnist` to run "
                + "the download tests against the real files");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::serve);
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private void serve(HttpExchange ex) throws IOException {
        String name = ex.getRequestURI().getPath().substring(1);
        byte[] body = bodies.get(name);
        if (body == null) {
            Path real = REAL.resolve(name);
            body = Files.isRegularFile(real) ? Files.readAllBytes(real) : null;
        }
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(200, body.length);
        OutputStream out = ex.getResponseBody();
        if (cut.getOrDefault(name, false)) {
            out.write(body, 0, body.length / 2);
            out.flush();
            // Closing the exchange short of the announced length makes the server drop the connection.
            ex.close();
            return;
        }
        out.write(body);
        ex.close();
    }

    private URI mirror() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    private DatasetLocator locator(DatasetSpec spec, PrintStream progress) throws IOException {
        Path home = Files.createDirectories(tmp.resolve("home"));
        Path root = Files.createDirectories(tmp.resolve("root"));
        return new DatasetLocator(spec, k -> null, home, root, new DatasetDownloader(mirror(), progress));
    }

    private static DatasetSpec labelsOnly() {
        DatasetSpec f = DatasetSpec.FASHION_MNIST;
        return new DatasetSpec(f.name(), f.displayName(), f.mirror(), f.debianPackage(), List.of(f.part(LABELS)));
    }

    @Test
    void downloadsVerifiesAndPlacesEveryFileInTheCache() throws IOException {
        ByteArrayOutputStream bar = new ByteArrayOutputStream();
        DatasetLocator l = locator(DatasetSpec.FASHION_MNIST, new PrintStream(bar, true, StandardCharsets.UTF_8));
        Path dir = l.locate(null);
        assertEquals(l.cacheDir(), dir);
        for (DatasetSpec.Part p : DatasetSpec.FASHION_MNIST.parts()) {
            assertEquals(Files.size(REAL.resolve(p.fileName())), Files.size(dir.resolve(p.fileName())));
        }
        try (var s = Files.list(dir)) {
            assertEquals(4, s.count(), "no temporary files left");
        }
        assertTrue(bar.toString(StandardCharsets.UTF_8).contains(LABELS), "progress bar drawn: " + bar);
        // Found in the cache the second time, without another download.
        server.stop(0);
        server = null;
        assertEquals(dir, l.locate(null));
    }

    @Test
    void checksumMismatchLeavesNoFile() throws IOException {
        byte[] contents;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(REAL.resolve(LABELS)))) {
            contents = in.readAllBytes();
        }
        contents[100] ^= 1; // a valid gzip of wrong contents, so only the checksum can catch it
        bodies.put(LABELS, IdxTestFiles.gzip(contents));
        DatasetLocator l = locator(labelsOnly(), null);
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class, () -> l.locate(null));
        assertTrue(e.getMessage().contains("SHA-256 mismatch"), e.getMessage());
        assertTrue(e.getMessage().contains("apt-get install dataset-fashion-mnist"), e.getMessage());
        assertEmpty(l.cacheDir());
    }

    @Test
    void interruptedDownloadLeavesNoFile() throws IOException {
        cut.put(LABELS, true);
        DatasetLocator l = locator(labelsOnly(), null);
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class, () -> l.locate(null));
        assertTrue(e.getMessage().contains(LABELS), e.getMessage());
        long size = Files.size(REAL.resolve(LABELS));
        // Caught as a short body, before any checksum is computed.
        assertTrue(e.getMessage().contains(" of " + size + " bytes"), e.getMessage());
        assertEmpty(l.cacheDir());
    }

    @Test
    void httpErrorLeavesNoFile() throws IOException {
        DatasetSpec f = DatasetSpec.FASHION_MNIST;
        DatasetSpec absent = new DatasetSpec(f.name(), f.displayName(), f.mirror(), f.debianPackage(),
                List.of(new DatasetSpec.Part("no-such-file.gz", "00")));
        DatasetLocator l = locator(absent, null);
        DatasetUnavailableException e = assertThrows(DatasetUnavailableException.class, () -> l.locate(null));
        assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
        assertEmpty(l.cacheDir());
    }

    private static void assertEmpty(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var s = Files.list(dir)) {
            List<Path> left = s.toList();
            assertTrue(left.isEmpty(), "left behind: " + left);
        }
        assertFalse(Files.exists(dir.resolve(LABELS)));
    }
}
