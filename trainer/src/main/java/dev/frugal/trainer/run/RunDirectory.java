package dev.frugal.trainer.run;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * One training run's directory and the files in it:
 *
 * <ul>
 *   <li>{@value #CONFIG_FILE}: the full resolved configuration ({@link #writeConfig});</li>
 *   <li>{@value #ENV_FILE}: the machine and software ({@link #writeEnv}, see {@link Environment});</li>
 *   <li>{@value #METRICS_FILE}: one JSON object per logged step and evaluation ({@link #metrics});</li>
 *   <li>{@value #SUMMARY_FILE}: the outcome ({@link #writeSummary}, {@link #readSummary}).</li>
 * </ul>
 *
 * <p>A new run never mixes its files with an old run's: {@link #create} refuses a non-empty
 * directory, and {@link #createUnder} picks a fresh timestamped name under a runs root. A resumed
 * run reopens its own directory with {@link #open}. The JSON files are replaced atomically (see
 * {@link AtomicFiles}); closing the run directory closes its metrics log.
 */
public final class RunDirectory implements AutoCloseable {
    /** The resolved configuration. */
    public static final String CONFIG_FILE = "config.json";
    /** The environment. */
    public static final String ENV_FILE = "env.json";
    /** The metrics, one JSON object per line. */
    public static final String METRICS_FILE = "metrics.jsonl";
    /** The outcome of the run. */
    public static final String SUMMARY_FILE = "summary.json";
    /** What loading pretrained weights ({@code --init-from}) matched, missed and left unused. */
    public static final String INIT_REPORT_FILE = "init-report.json";

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
    /** More same-second runs of one model than this means something is looping; stop rather than spin. */
    private static final int MAX_SUFFIX = 1000;

    private final Path path;
    /** Whether this object made the directory (and so may remove it again while it is empty). */
    private final boolean createdHere;
    private MetricsLog metrics;

    private RunDirectory(Path path, boolean createdHere) {
        this.path = path;
        this.createdHere = createdHere;
    }

    /**
     * Makes exactly {@code runDir} (and missing parents) the directory of a new run.
     *
     * @param runDir the run directory; may exist if it is an empty directory
     * @return the run directory
     * @throws FileAlreadyExistsException if {@code runDir} is a non-empty directory (the message
     *     names it: choose another {@code --run-dir}, or {@code --resume} that run)
     * @throws NotDirectoryException if {@code runDir} exists and is not a directory
     * @throws IOException if the directory cannot be created or listed
     */
    public static RunDirectory create(Path runDir) throws IOException {
        Path dir = runDir.toAbsolutePath().normalize();
        if (Files.exists(dir)) {
            if (!Files.isDirectory(dir)) {
                throw new NotDirectoryException(dir + " (the run directory exists and is not a directory)");
            }
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new FileAlreadyExistsException(dir.toString(), null,
                        "run directory is not empty; choose another --run-dir, remove it, or --resume it");
                }
            }
            return new RunDirectory(dir, false);
        }
        Files.createDirectories(dir);
        return new RunDirectory(dir, true);
    }

    /**
     * Makes a new run directory {@code runsRoot/<yyyyMMdd-HHmmss>-<model>} (local time), with
     * {@code -2}, {@code -3}, ... appended when that name is taken; creating the directory itself
     * is the claim, so two processes starting in the same second get different directories.
     *
     * @param runsRoot the directory holding runs; created when missing
     * @param modelName the model's name or spec; characters other than letters, digits, {@code .},
     *     {@code _} and {@code -} become {@code _} (so {@code deep-mlp:depth=8} gives
     *     {@code deep-mlp_depth_8})
     * @return the run directory
     * @throws IOException if the directory cannot be created
     */
    public static RunDirectory createUnder(Path runsRoot, String modelName) throws IOException {
        return createUnder(runsRoot, modelName, Clock.systemDefaultZone());
    }

    /**
     * {@link #createUnder(Path, String)} with the time taken from {@code clock}.
     *
     * @param runsRoot the directory holding runs; created when missing
     * @param modelName the model's name or spec
     * @param clock where the timestamp comes from, in the clock's zone
     * @return the run directory
     * @throws IOException if the directory cannot be created
     */
    public static RunDirectory createUnder(Path runsRoot, String modelName, Clock clock) throws IOException {
        Path root = runsRoot.toAbsolutePath().normalize();
        Files.createDirectories(root);
        String base = LocalDateTime.now(clock).format(STAMP) + "-" + safeName(modelName);
        for (int n = 1; n <= MAX_SUFFIX; n++) {
            Path dir = root.resolve(n == 1 ? base : base + "-" + n);
            try {
                Files.createDirectory(dir);
                return new RunDirectory(dir, true);
            } catch (FileAlreadyExistsException taken) {
                // someone (maybe a parallel run) has this name; try the next suffix
            }
        }
        throw new FileAlreadyExistsException(root.resolve(base).toString(), null,
            "and " + MAX_SUFFIX + " numbered variants already exist");
    }

    /**
     * Reopens the directory of an existing run, to resume it: the metrics log appends.
     *
     * @param runDir a directory made by {@link #create} or {@link #createUnder}
     * @return the run directory
     * @throws NoSuchFileException if {@code runDir} does not exist
     * @throws NotDirectoryException if it is not a directory
     */
    public static RunDirectory open(Path runDir) throws IOException {
        Path dir = runDir.toAbsolutePath().normalize();
        if (!Files.exists(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no such run directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new NotDirectoryException(dir + " (not a run directory)");
        }
        return new RunDirectory(dir, false);
    }

    /**
     * For a run that failed before writing anything (a bad {@code --init-from} file or
     * {@code --freeze} glob found once the model exists): closes the metrics log and removes the
     * directory when this object made it and it is still empty, so bad input leaves no empty run
     * behind. A directory that existed before, or holds anything, is left as it is.
     *
     * @return whether the directory was removed
     * @throws IOException when closing or removing fails
     */
    public boolean removeIfUnused() throws IOException {
        close();
        if (!createdHere || !Files.isDirectory(path)) {
            return false;
        }
        try (Stream<Path> entries = Files.list(path)) {
            if (entries.findAny().isPresent()) {
                return false;
            }
        }
        Files.delete(path);
        return true;
    }

    private static String safeName(String modelName) {
        Objects.requireNonNull(modelName, "modelName");
        String safe = modelName.strip().replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.isEmpty() ? "run" : safe;
    }

    /**
     * Where this run's files are.
     *
     * @return the absolute, normalised path of the run directory
     */
    public Path path() {
        return path;
    }

    /**
     * Writes {@value #CONFIG_FILE}: {@code config} as pretty-printed JSON, atomically.
     *
     * @param config a record, map or bean Jackson can serialise; paths are written as plain strings
     * @throws IOException if serialising or writing fails; the old file, if any, is unchanged
     */
    public void writeConfig(Object config) throws IOException {
        writeJson(CONFIG_FILE, config);
    }

    /**
     * Writes {@value #ENV_FILE} from {@link Environment#collect()}, atomically. Probing the machine
     * never fails; only writing can.
     *
     * @throws IOException if writing fails
     */
    public void writeEnv() throws IOException {
        writeJson(ENV_FILE, Environment.collect());
    }

    /**
     * The run's metrics log, {@value #METRICS_FILE}, opened (for appending) on the first call; later
     * calls return the same log until {@link #close}.
     *
     * @return the metrics log
     * @throws IOException if the file cannot be opened
     */
    public synchronized MetricsLog metrics() throws IOException {
        if (metrics == null) {
            metrics = new MetricsLog(path.resolve(METRICS_FILE));
        }
        return metrics;
    }

    /**
     * Writes {@value #SUMMARY_FILE} as pretty-printed JSON, atomically, keys in {@code summary}'s
     * iteration order.
     *
     * @param summary the outcome; see {@code summary.json} in the README for the keys
     * @throws IOException if serialising or writing fails; the old file, if any, is unchanged
     */
    public void writeSummary(Map<String, Object> summary) throws IOException {
        writeJson(SUMMARY_FILE, summary);
    }

    /**
     * Writes {@value #INIT_REPORT_FILE} as pretty-printed JSON, atomically.
     *
     * @param report what loading the pretrained weights did ({@code WeightImportReport.toMap()})
     * @throws IOException if serialising or writing fails; the old file, if any, is unchanged
     */
    public void writeInitReport(Map<String, Object> report) throws IOException {
        writeJson(INIT_REPORT_FILE, report);
    }

    /**
     * Reads a run's {@value #SUMMARY_FILE}.
     *
     * @param runDir the run directory
     * @return the summary, keys in file order; numbers as {@code Integer}, {@code Long},
     *     {@code Double} or {@code BigInteger}, as Jackson reads them
     * @throws NoSuchFileException if the run has no summary (it has not finished)
     * @throws IOException if the file cannot be read or is not a JSON object; the message names it
     */
    public static Map<String, Object> readSummary(Path runDir) throws IOException {
        Path file = runDir.resolve(SUMMARY_FILE);
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no summary: the run has not finished");
        }
        try {
            Map<String, Object> summary = RunJson.MAPPER.readValue(file.toFile(),
                new TypeReference<LinkedHashMap<String, Object>>() { });
            if (summary == null) {
                throw new IOException(file + ": expected a JSON object, found null");
            }
            return summary;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + ": not a valid summary: " + e.getOriginalMessage(), e);
        }
    }

    private void writeJson(String name, Object value) throws IOException {
        // serialise before touching the file, so a value Jackson rejects leaves the old file in place
        byte[] bytes = RunJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
        byte[] withNewline = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, withNewline, 0, bytes.length);
        withNewline[bytes.length] = '\n';
        AtomicFiles.write(path.resolve(name), withNewline);
    }

    /**
     * Closes the metrics log, if it was opened.
     *
     * @throws IOException if closing it fails
     */
    @Override
    public synchronized void close() throws IOException {
        if (metrics != null) {
            metrics.close();
            metrics = null;
        }
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return path.toString();
    }
}
