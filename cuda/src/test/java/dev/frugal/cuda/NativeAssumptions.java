package dev.frugal.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;

/** Skips a test, with the loader's reason, when a CUDA library is not installed on this machine. */
public final class NativeAssumptions {
  private NativeAssumptions() {}

  /** Skips unless {@code library} loads; the skip message says why it did not. */
  public static LoadedLibrary assumeLoaded(CudaLibrary library) {
    LoadedLibrary loaded = LibraryLoader.system().load(library);
    assumeTrue(loaded.isLoaded(), () -> library.displayName() + " is not available: " + loaded.problem());
    return loaded;
  }
}
