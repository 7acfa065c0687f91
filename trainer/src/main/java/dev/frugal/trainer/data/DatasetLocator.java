package dev.frugal.trainer.data;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Finds a dataset on disk, and downloads it into the cache when it is nowhere.
 *
 * <p>Search order:
 * <ol>
 *   <li>the {@code --data DIR} value, when given;</li>
 *   <li>the {@code FRUGAL_DATA} environment variable;</li>
 *   <li>{@code /usr/share/datasets/NAME} (where the Debian package puts it);</li>
 *   <li>{@code ~/.cache/frugal/datasets/NAME}.</li>
 * </ol>
 * For {@code --data} and {@code FRUGAL_DATA}, the directory itself or its {@code NAME}
 * subdirectory qualifies. A directory qualifies when it holds every file, gzipped or not.
 *
 * <p>An explicit {@code --data} is binding: when it does not hold the dataset, that is an error
 * rather than a quiet fall-back to another copy, because a user who names a directory expects
 * that data to be used. When no place has the dataset it is downloaded (verified, atomically)
 * into the cache; when that fails too, the error lists every place searched and how to get it.
 *
 * <p>Environment, home and file-system root are injected so tests can use fake directories.
 */
public final class DatasetLocator {
    /** Environment variable naming a data directory. */
    public static final String ENV = "FRUGAL_DATA";

    private final DatasetSpec spec;
    private final Function<String, String> env;
    private final Path home;
    private final Path systemRoot;
    private final DatasetDownloader downloader;

    /**
     * A locator over injected places (tests) or real ones ({@link #forThisMachine}).
     *
     * @param spec       the dataset
     * @param env        environment lookup ({@code System::getenv} in production)
     * @param home       the user's home directory
     * @param systemRoot the file-system root under which {@code usr/share/datasets} is searched
     * @param downloader downloads into the cache, or null to never download
     */
    public DatasetLocator(DatasetSpec spec, Function<String, String> env, Path home, Path systemRoot,
                          DatasetDownloader downloader) {
        this.spec = Objects.requireNonNull(spec);
        this.env = Objects.requireNonNull(env);
        this.home = Objects.requireNonNull(home);
        this.systemRoot = Objects.requireNonNull(systemRoot);
        this.downloader = downloader;
    }

    /**
     * The locator for this machine: real environment and home, the root file system and the
     * dataset's official mirror.
     *
     * @param spec     the dataset
     * @param progress where a download progress bar is drawn, or null for none
     * @return the locator
     */
    public static DatasetLocator forThisMachine(DatasetSpec spec, PrintStream progress) {
        return new DatasetLocator(spec, System::getenv, Path.of(System.getProperty("user.home")), Path.of("/"),
                new DatasetDownloader(spec.mirror(), progress));
    }

    /** The system-wide directory, {@code ROOT/usr/share/datasets/NAME}. */
    public Path systemDir() {
        return systemRoot.resolve("usr/share/datasets").resolve(spec.name());
    }

    /** The per-user cache directory, {@code HOME/.cache/frugal/datasets/NAME}; downloads go here. */
    public Path cacheDir() {
        return home.resolve(".cache/frugal/datasets").resolve(spec.name());
    }

    /**
     * Finds the dataset, downloading it into the cache when no place has it.
     *
     * @param dataOption the {@code --data} value, or null when not given
     * @return a directory holding every file of the dataset
     * @throws DatasetUnavailableException when {@code --data} lacks it, or nothing has it and the
     *                                     download failed or is disabled
     */
    public Path locate(Path dataOption) throws DatasetUnavailableException {
        List<String> searched = new ArrayList<>();
        if (dataOption != null) {
            Path found = check(dataOption, true, "--data", searched);
            if (found != null) {
                return found;
            }
            throw new DatasetUnavailableException(spec.displayName() + " is not in the --data directory.\n"
                    + String.join("\n", searched) + "\n" + howToGet(), null);
        }
        String fromEnv = env.apply(ENV);
        if (fromEnv == null || fromEnv.isBlank()) {
            searched.add("  " + ENV + ": not set");
        } else {
            Path found = check(Path.of(fromEnv), true, ENV, searched);
            if (found != null) {
                return found;
            }
        }
        Path found = check(systemDir(), false, "system", searched);
        if (found == null) {
            found = check(cacheDir(), false, "cache", searched);
        }
        if (found != null) {
            return found;
        }
        if (downloader == null) {
            throw new DatasetUnavailableException(spec.displayName() + " was not found and downloading is off.\n"
                    + "Searched:\n" + String.join("\n", searched) + "\n" + howToGet(), null);
        }
        Path cache = cacheDir();
        try {
            for (DatasetSpec.Part part : spec.parts()) {
                if (part.find(cache) == null) {
                    downloader.download(part, cache);
                }
            }
            return cache;
        } catch (IOException | RuntimeException e) {
            throw new DatasetUnavailableException(spec.displayName() + " was not found, and downloading it from "
                    + downloader.mirror() + " into " + cache + " failed: " + e.getMessage() + "\n"
                    + "Searched:\n" + String.join("\n", searched) + "\n" + howToGet(), e);
        }
    }

    private Path check(Path dir, boolean orSubdir, String label, List<String> searched) {
        List<Path> candidates = orSubdir ? List.of(dir, dir.resolve(spec.name())) : List.of(dir);
        for (Path c : candidates) {
            if (Files.isDirectory(c) && spec.missingIn(c).isEmpty()) {
                return c;
            }
        }
        for (Path c : candidates) {
            searched.add("  " + label + ": " + c + ": "
                    + (Files.isDirectory(c) ? "missing " + String.join(", ", spec.missingIn(c)) : "no such directory"));
        }
        return null;
    }

    private String howToGet() {
        return "To get it: `sudo apt-get install " + spec.debianPackage() + "` (installs into " + systemDir()
                + "), or download " + spec.parts().stream().map(DatasetSpec.Part::fileName).toList() + " from "
                + spec.mirror() + " into a directory and pass it with --data DIR (or set " + ENV + "=DIR).";
    }
}
