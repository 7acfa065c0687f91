package dev.frugal.trainer.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Downloads dataset files from a mirror, verifies them and only then makes them visible.
 *
 * <p>Each file is streamed into a temporary file in the destination directory (the same file
 * system, so the final rename is atomic), its decompressed contents are checked against the
 * expected SHA-256, and only then is it renamed to its real name. Any failure (HTTP error,
 * connection closed mid-body, checksum mismatch) deletes the temporary file, so the cache never
 * holds a partial or wrong file that a later run would trust.
 */
public final class DatasetDownloader {
    private static final int CHUNK = 1 << 16;

    private final URI mirror;
    private final HttpClient client;
    private final PrintStream progress;

    /**
     * A downloader for one mirror.
     *
     * @param mirror   base URL; file names are resolved against it (end it with '/')
     * @param progress where the progress bar is drawn, or null for no bar
     */
    public DatasetDownloader(URI mirror, PrintStream progress) {
        this.mirror = mirror;
        this.progress = progress;
        this.client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
    }

    /** The base URL files are fetched from. */
    public URI mirror() {
        return mirror;
    }

    /**
     * Downloads one part into {@code dir}, verified, under its real name.
     *
     * @param part the file and its checksum
     * @param dir  destination directory, created if needed
     * @return the downloaded file
     * @throws IOException on any network, HTTP or checksum failure; no file is left behind
     */
    public Path download(DatasetSpec.Part part, Path dir) throws IOException {
        URI url = mirror.resolve(part.fileName());
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + part.fileName() + ".", ".part");
        try {
            fetch(url, tmp, part.fileName());
            String actual = contentSha256(tmp);
            if (!actual.equals(part.contentSha256())) {
                throw new IOException("SHA-256 mismatch for " + url + ": the decompressed contents hash to " + actual
                        + ", expected " + part.contentSha256() + " (corrupt download or wrong mirror); nothing was kept");
            }
            Path target = dir.resolve(part.fileName());
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void fetch(URI url, Path tmp, String name) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(10)).GET().build();
        HttpResponse<InputStream> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("download of " + url + " was interrupted", e);
        }
        long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("GET " + url + " answered HTTP " + response.statusCode() + ", expected 200");
            }
            long received = 0;
            try (OutputStream out = Files.newOutputStream(tmp);
                 ProgressBar bar = progress == null ? null : bar(name, length)) {
                byte[] buf = new byte[CHUNK];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    received += n;
                    if (bar != null) {
                        bar.stepBy(n);
                    }
                }
            } catch (IOException e) {
                throw new IOException("download of " + url + " broke off after " + received + " of "
                        + (length >= 0 ? length : "?") + " bytes: " + e.getMessage(), e);
            }
            // HttpClient normally reports a short body itself; this guards the cases it lets through.
            if (length >= 0 && received != length) {
                throw new IOException("download of " + url + " ended after " + received + " of " + length + " bytes");
            }
        }
    }

    private ProgressBar bar(String name, long length) {
        return new ProgressBarBuilder()
                .setTaskName(name)
                .setInitialMax(length)
                .setUnit("MiB", 1 << 20)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(progress))
                .build();
    }

    /**
     * SHA-256 of a file's contents after gunzip when it is gzipped (sniffed), else of its bytes.
     *
     * @param file the file
     * @return lower-case hex digest
     * @throws IOException when the file cannot be read or its gzip stream is corrupt
     */
    public static String contentSha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        boolean gzip;
        try (InputStream in = Files.newInputStream(file)) {
            gzip = in.read() == 0x1f && in.read() == 0x8b;
        }
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = new DigestInputStream(gzip ? new GZIPInputStream(raw, CHUNK) : raw, digest)) {
            byte[] buf = new byte[CHUNK];
            while (in.read(buf) >= 0) {
                // DigestInputStream hashes as it reads
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
