package dev.frugal.trainer.run;

import dev.frugal.cuda.CudaDiscovery;
import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.DiscoveryReport;
import dev.frugal.cuda.LibraryStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * What {@code env.json} records about the machine a run ran on, so that two runs' numbers can be
 * compared knowing what differed. Every probe is best-effort: an unreadable file, a missing
 * {@code git} or a machine without CUDA gives {@code null} or an empty list, never an exception.
 */
public final class Environment {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}([0-9a-f]{24})?");
    private static final long GIT_TIMEOUT_MILLIS = 2_000;

    private Environment() {
    }

    /**
     * Collects the environment, with the git commit of the current working directory.
     *
     * @return keys {@code frugal_version}, {@code java}, {@code os}, {@code cpu},
     *     {@code max_heap_bytes}, {@code gpus}, {@code cuda_libraries}, {@code git_commit}, in that
     *     order; values that could not be found are {@code null}
     */
    public static Map<String, Object> collect() {
        return collect(Path.of(System.getProperty("user.dir")));
    }

    /**
     * Collects the environment, taking the git commit from {@code workingDirectory}.
     *
     * @param workingDirectory where to run {@code git rev-parse HEAD}
     * @return as {@link #collect()}
     */
    public static Map<String, Object> collect(Path workingDirectory) {
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("frugal_version", frugalVersion());
        Map<String, Object> java = new LinkedHashMap<>();
        java.put("version", System.getProperty("java.version"));
        java.put("runtime_version", Runtime.version().toString());
        java.put("vendor", System.getProperty("java.vendor"));
        java.put("vm", System.getProperty("java.vm.name"));
        env.put("java", java);
        Map<String, Object> os = new LinkedHashMap<>();
        os.put("name", System.getProperty("os.name"));
        os.put("version", System.getProperty("os.version"));
        os.put("arch", System.getProperty("os.arch"));
        env.put("os", os);
        Map<String, Object> cpu = new LinkedHashMap<>();
        cpu.put("model", cpuModel(Path.of("/proc/cpuinfo")));
        cpu.put("cores", Runtime.getRuntime().availableProcessors());
        env.put("cpu", cpu);
        env.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        addCuda(env);
        env.put("git_commit", gitCommit(workingDirectory));
        return env;
    }

    private static void addCuda(Map<String, Object> env) {
        List<Map<String, Object>> gpus = new ArrayList<>();
        List<Map<String, Object>> libraries = new ArrayList<>();
        try {
            // documented never to throw; the catch keeps env.json from ever failing a run regardless
            DiscoveryReport report = CudaDiscovery.report();
            for (DeviceInfo d : report.devices()) {
                Map<String, Object> gpu = new LinkedHashMap<>();
                gpu.put("index", d.index());
                gpu.put("name", d.name());
                gpu.put("compute_capability", d.computeCapability());
                gpu.put("memory_bytes", d.memoryBytes());
                gpu.put("driver_version", d.driverVersion());
                gpus.add(gpu);
            }
            for (LibraryStatus lib : report.libraries()) {
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("name", lib.name());
                l.put("found", lib.found());
                l.put("version", lib.version());
                l.put("path", lib.path());
                l.put("reason", lib.reason());
                libraries.add(l);
            }
        } catch (RuntimeException | LinkageError e) {
            env.put("cuda_error", String.valueOf(e.getMessage()));
        }
        env.put("gpus", gpus);
        env.put("cuda_libraries", libraries);
    }

    /**
     * The CPU's model name from a {@code /proc/cpuinfo}-style file.
     *
     * @param cpuinfo the file to read
     * @return the first {@code model name} (x86) or, failing that, {@code Model}/{@code Hardware}
     *     (ARM) value; {@code null} when the file is unreadable or has neither
     */
    static String cpuModel(Path cpuinfo) {
        List<String> lines;
        try {
            lines = Files.readAllLines(cpuinfo, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        for (String key : List.of("model name", "Model", "Hardware")) {
            for (String line : lines) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).strip().equals(key)) {
                    String value = line.substring(colon + 1).strip();
                    if (!value.isEmpty()) {
                        return value;
                    }
                }
            }
        }
        return null;
    }

    /**
     * The commit checked out where {@code directory} is, via {@code git rev-parse HEAD}.
     *
     * @param directory any directory
     * @return the full hash, or {@code null} when {@code directory} is not in a git checkout, git
     *     is not installed, or it does not answer within two seconds
     */
    static String gitCommit(Path directory) {
        Process process;
        try {
            process = new ProcessBuilder("git", "rev-parse", "HEAD")
                .directory(directory.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        } catch (IOException | RuntimeException e) {
            return null;
        }
        try (InputStream out = process.getInputStream()) {
            // git must never wait for input (a credential or pager prompt) from the training process
            process.getOutputStream().close();
            if (!process.waitFor(GIT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS) || process.exitValue() != 0) {
                return null;
            }
            // the hash is 41 bytes; the pipe holds far more, so reading after exit cannot block
            String hash = new String(out.readNBytes(200), StandardCharsets.US_ASCII).strip();
            return COMMIT.matcher(hash).matches() ? hash : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            process.destroyForcibly();
        }
    }

    /**
     * Frugal's version: the jar manifest's {@code Implementation-Version}, else Maven's
     * {@code pom.properties}, else {@code null} (classes run from a build directory).
     */
    static String frugalVersion() {
        String version = Environment.class.getPackage().getImplementationVersion();
        if (version != null) {
            return version;
        }
        try (InputStream in = Environment.class.getResourceAsStream(
            "/META-INF/maven/dev.frugal/frugal-trainer/pom.properties")) {
            if (in != null) {
                Properties properties = new Properties();
                properties.load(in);
                return properties.getProperty("version");
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }
}
