package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.exec.RandomElementwiseGraphs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Property: for random programs of elementwise ops ({@link RandomElementwiseGraphs}: random
 * shapes, broadcasting, F32/F16/BF16, masks, selects, casts, reductions between groups), every
 * generated kernel compiles with NVRTC for Turing to Hopper, and run on the host it computes what
 * the CPU backend computes.
 */
class RandomProgramCodegenTest {
    private static final int PROGRAMS = 40;

    @TempDir
    Path tmp;

    @Test
    void everyKernelOfRandomProgramsCompilesForEveryArchitecture() {
        ElementwiseCodegenTest.compilerOrSkip(); // before the programs are built, so a missing NVRTC skips at once
        List<GeneratedKernel> kernels = new ArrayList<>();
        for (long seed = 1; seed <= PROGRAMS; seed++) {
            RandomElementwiseGraphs p = RandomElementwiseGraphs.of(seed);
            try (Program program = Executor.cpu().compile(p.graph(), p.outputs())) {
                kernels.addAll(CpuReference.kernelsOf(program));
            } finally {
                p.feeds().values().forEach(Tensor::close);
            }
        }
        assertTrue(kernels.size() > PROGRAMS, "kernels: " + kernels.size());
        // one translation unit per architecture, as frugal kernels --check compiles them
        ElementwiseCodegenTest.compileForEveryArchitecture("random_programs", kernels);
    }

    @Test
    void onTheHostRandomProgramsMatchTheCpuBackend() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        List<CpuReference.Case> cases = new ArrayList<>();
        for (long seed = 1; seed <= PROGRAMS; seed++) {
            RandomElementwiseGraphs p = RandomElementwiseGraphs.of(seed);
            cases.add(new CpuReference.Case(p.graph(), p.outputs(), p.feeds()));
        }
        try {
            int checked = CpuReference.check(nvcc, tmp, cases);
            assertTrue(checked > 1000, "elements checked: " + checked);
        } finally {
            cases.forEach(c -> c.feeds().values().forEach(Tensor::close));
        }
    }
}
