package dev.frugal.trainer.data;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a downloadable dataset consists of: its name, the official mirror, the Debian package
 * that installs it, and its files with their checksums.
 *
 * <p>Checksums are SHA-256 of each file's <em>decompressed</em> contents, not of the
 * {@code .gz} bytes. The reason: the Debian package {@code dataset-fashion-mnist} ships the same
 * data re-gzipped (its {@code .gz} files differ from the MD5s the dataset's README publishes,
 * yet decompress to the same bytes), so a checksum over the contents verifies both a download
 * from the official mirror and a copy of the packaged files.
 *
 * @param name          directory name under the cache and under {@code /usr/share/datasets}
 * @param displayName   name for messages
 * @param mirror        official download base URL, ending in '/'
 * @param debianPackage the apt package that installs the files
 * @param parts         the files
 */
public record DatasetSpec(String name, String displayName, URI mirror, String debianPackage, List<Part> parts) {
    /**
     * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017). The SHA-256 values were computed from the
     * files the Debian package installs and agree with independently published checksums of the
     * decompressed upstream files.
     */
    public static final DatasetSpec FASHION_MNIST = new DatasetSpec("fashion-mnist", "Fashion-MNIST",
            URI.create("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"), "dataset-fashion-mnist",
            List.of(
                    new Part("train-images-idx3-ubyte.gz",
                            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
                    new Part("train-labels-idx1-ubyte.gz",
                            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
                    new Part("t10k-images-idx3-ubyte.gz",
                            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
                    new Part("t10k-labels-idx1-ubyte.gz",
                            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")));

    /** Copies the part list so the record stays immutable. */
    public DatasetSpec {
        parts = List.copyOf(parts);
    }

    /**
     * One file of a dataset.
     *
     * @param fileName      the name on the mirror (gzipped)
     * @param contentSha256 lower-case hex SHA-256 of the decompressed contents
     */
    public record Part(String fileName, String contentSha256) {
        /** The name of the decompressed file, which a directory may hold instead. */
        public String rawName() {
            return fileName.endsWith(".gz") ? fileName.substring(0, fileName.length() - 3) : fileName;
        }

        /**
         * The file in {@code dir}, gzipped or decompressed, or null when neither is there.
         *
         * @param dir the directory to look in
         * @return the path found, or null
         */
        public Path find(Path dir) {
            Path gz = dir.resolve(fileName);
            if (Files.isRegularFile(gz)) {
                return gz;
            }
            Path raw = dir.resolve(rawName());
            return Files.isRegularFile(raw) ? raw : null;
        }
    }

    /**
     * The part with this file name.
     *
     * @param fileName a name from {@link #parts()}
     * @return the part
     * @throws IllegalArgumentException when there is none
     */
    public Part part(String fileName) {
        for (Part p : parts) {
            if (p.fileName().equals(fileName)) {
                return p;
            }
        }
        throw new IllegalArgumentException(displayName + " has no file " + fileName + "; it has " + parts);
    }

    /** The names of the parts {@code dir} lacks (empty when the directory has the whole dataset). */
    public List<String> missingIn(Path dir) {
        return parts.stream().filter(p -> p.find(dir) == null).map(Part::fileName).toList();
    }
}
