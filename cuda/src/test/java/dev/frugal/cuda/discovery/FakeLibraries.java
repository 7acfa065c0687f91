package dev.frugal.cuda.discovery;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Builds fake library folders and loaders for discovery tests, so they depend only on what the
 * test creates: folders, empty files named like the real libraries, and a driver outcome chosen by
 * the test instead of looked up on the machine.
 */
public final class FakeLibraries {
  private FakeLibraries() {}

  /** Creates {@code root/relative} (and its parents) and returns it. */
  public static Path folder(Path root, String relative) {
    try {
      return Files.createDirectories(root.resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates empty files with these names in {@code folder} (which is created) and returns it. */
  public static Path files(Path folder, String... names) {
    try {
      Files.createDirectories(folder);
      for (String name : names) {
        Files.write(folder.resolve(name), new byte[0]);
      }
      return folder;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A loader over exactly these folders that never looks for a driver (so no major is ruled out). */
  public static LibraryLoader loaderWithoutDriver(Path... folders) {
    return new LibraryLoader(LibrarySearchPath.of(java.util.List.of(folders)), Map.of(), false);
  }

  /**
   * A loader over exactly these folders whose driver is a fake that "supports" CUDA
   * {@code cudaVersion} (e.g. {@code "12.4"}); its symbols are never looked up by discovery.
   */
  public static LibraryLoader loaderWithDriver(String cudaVersion, Path... folders) {
    int major = Integer.parseInt(cudaVersion.substring(0, cudaVersion.indexOf('.')));
    SymbolLookup nothing = name -> Optional.empty();
    LoadedLibrary driver = LoadedLibrary.loaded(CudaLibrary.DRIVER, nothing, Path.of("/fake/libcuda.so.1"),
        cudaVersion, major);
    return new LibraryLoader(LibrarySearchPath.of(java.util.List.of(folders)), Map.of(), driver);
  }
}
