package dev.frugal.trainer.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code env.json} contains, and that its probes degrade to null instead of failing. */
class EnvironmentTest {
    @TempDir
    Path tmp;

    @Test
    void envJsonHasEveryField() throws IOException {
        try (RunDirectory run = RunDirectory.create(tmp.resolve("run"))) {
            run.writeEnv();
            JsonNode env = new ObjectMapper().readTree(run.path().resolve(RunDirectory.ENV_FILE).toFile());
            for (String key : List.of("frugal_version", "java", "os", "cpu", "max_heap_bytes", "gpus",
                "cuda_libraries", "git_commit")) {
                assertTrue(env.has(key), "env.json lacks " + key + ": " + env);
            }
            assertEquals(System.getProperty("java.version"), env.get("java").get("version").asText());
            assertTrue(env.get("java").get("vendor").isTextual());
            assertEquals(System.getProperty("os.name"), env.get("os").get("name").asText());
            assertEquals(Runtime.getRuntime().availableProcessors(), env.get("cpu").get("cores").asInt());
            assertTrue(env.get("max_heap_bytes").asLong() > 0);
            assertTrue(env.get("gpus").isArray());
            // one entry per CUDA library, found or not, so a CPU-only machine says why
            assertTrue(env.get("cuda_libraries").size() > 0);
            JsonNode commit = env.get("git_commit");
            assertTrue(commit.isNull() || commit.asText().matches("[0-9a-f]{40}"), commit.toString());
        }
    }

    @Test
    void cpuModelFromCpuinfo() throws IOException {
        Path x86 = Files.writeString(tmp.resolve("x86"),
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n");
        assertEquals("Intel(R) Xeon(R) CPU @ 2.20GHz", Environment.cpuModel(x86));
        Path arm = Files.writeString(tmp.resolve("arm"), "processor\t: 0\nBogoMIPS\t: 108.00\nModel\t\t: Raspberry Pi 4\n");
        assertEquals("Raspberry Pi 4", Environment.cpuModel(arm));
        assertNull(Environment.cpuModel(tmp.resolve("missing")));
        assertNull(Environment.cpuModel(Files.writeString(tmp.resolve("empty"), "")));
    }

    @Test
    void gitCommitOutsideACheckoutIsNull() throws IOException {
        Path plain = Files.createDirectory(tmp.resolve("not-a-checkout"));
        // a temporary directory inside some checkout would make this meaningless, so check first
        boolean insideCheckout = false;
        for (Path p = plain.toAbsolutePath(); p != null; p = p.getParent()) {
            insideCheckout |= Files.exists(p.resolve(".git"));
        }
        if (!insideCheckout) {
            assertNull(Environment.gitCommit(plain));
        }
        assertNull(Environment.gitCommit(tmp.resolve("does-not-exist")));
    }

    @Test
    void gitCommitInThisCheckoutIsAHash() {
        Path here = Path.of("").toAbsolutePath();
        String commit = Environment.gitCommit(here);
        boolean inCheckout = false;
        for (Path p = here; p != null; p = p.getParent()) {
            inCheckout |= Files.exists(p.resolve(".git"));
        }
        if (inCheckout && commit != null) {
            assertTrue(commit.matches("[0-9a-f]{40}"), commit);
        }
    }
}
