package dev.frugal.cuda.nvrtc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds a folder holding {@code cuda_fp16.h} and {@code cuda_bf16.h} from the same CUDA release
 * as the loaded NVRTC. Mixing releases fails in confusing ways ("identifier NV_IF_ELSE_TARGET is
 * undefined"), so a folder is only used when its {@code cuda.h} or {@code cuda_runtime_api.h}
 * declares the same major.minor as NVRTC, or when it is the include folder of NVRTC's own wheel
 * or toolkit and declares no version at all.
 */
public final class ToolkitHeaders {
  private static final Pattern VERSION_DEFINE =
      Pattern.compile("#define\\s+(?:CUDA_VERSION|CUDART_VERSION)\\s+(\\d+)");

  private ToolkitHeaders() {}

  /**
   * @param nvrtcVersion {major, minor} of the loaded NVRTC
   * @param nvrtcLibrary the loaded {@code libnvrtc.so} file, whose sibling {@code include} folder is tried first
   * @param environment for {@code CUDA_HOME} / {@code CUDA_PATH}
   */
  public static Optional<Path> find(int[] nvrtcVersion, Path nvrtcLibrary, Map<String, String> environment) {
    List<Path> candidates = new ArrayList<>();
    Path own = null;
    if (nvrtcLibrary != null && nvrtcLibrary.getParent() != null && nvrtcLibrary.getParent().getParent() != null) {
      // pip: nvidia/cu13/lib -> nvidia/cu13/include; toolkit: cuda-13.0/lib64 -> cuda-13.0/include
      own = nvrtcLibrary.getParent().getParent().resolve("include");
      candidates.add(own);
      candidates.add(nvrtcLibrary.getParent().getParent().getParent().resolve("include"));
    }
    for (String variable : List.of("CUDA_HOME", "CUDA_PATH")) {
      String root = environment.get(variable);
      if (root != null && !root.isBlank()) {
        candidates.add(Path.of(root.trim(), "include"));
      }
    }
    candidates.add(Path.of("/usr/local/cuda-" + nvrtcVersion[0] + "." + nvrtcVersion[1], "include"));
    candidates.add(Path.of("/usr/local/cuda/include"));
    for (Path folder : candidates) {
      if (!Files.isRegularFile(folder.resolve("cuda_fp16.h")) || !Files.isRegularFile(folder.resolve("cuda_bf16.h"))
          || !Files.isRegularFile(folder.resolve("cuda_fp16.hpp"))) {
        continue;
      }
      Optional<int[]> declared = declaredVersion(folder);
      if (declared.isPresent()) {
        if (declared.get()[0] == nvrtcVersion[0] && declared.get()[1] == nvrtcVersion[1]) {
          return Optional.of(folder.toAbsolutePath().normalize());
        }
      } else if (folder.equals(own)) {
        return Optional.of(folder.toAbsolutePath().normalize());
      }
    }
    return Optional.empty();
  }

  /** The {major, minor} a header folder declares in cuda.h or cuda_runtime_api.h, if any. */
  static Optional<int[]> declaredVersion(Path folder) {
    for (String header : List.of("cuda.h", "cuda_runtime_api.h")) {
      Path file = folder.resolve(header);
      if (!Files.isRegularFile(file)) {
        continue;
      }
      try {
        Matcher matcher = VERSION_DEFINE.matcher(Files.readString(file));
        if (matcher.find()) {
          int encoded = Integer.parseInt(matcher.group(1));
          return Optional.of(new int[] {encoded / 1000, (encoded % 1000) / 10});
        }
      } catch (IOException | RuntimeException e) {
        // An unreadable header says nothing about the version; try the next one.
      }
    }
    return Optional.empty();
  }
}
