package dev.frugal.cuda.discovery;

import dev.frugal.cuda.CudaLibraryNotFoundException;
import dev.frugal.cuda.LibraryStatus;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;

/**
 * The outcome of loading one library: its symbols, file and version, or why it is unusable. Never
 * thrown away on failure, so every later use reports the same clear reason.
 */
public final class LoadedLibrary {
  private final CudaLibrary library;
  private final SymbolLookup lookup;
  private final Path path;
  private final String version;
  private final int cudaMajor;
  private final String problem;
  private final String warning;

  private LoadedLibrary(CudaLibrary library, SymbolLookup lookup, Path path, String version, int cudaMajor,
      String problem, String warning) {
    this.library = library;
    this.lookup = lookup;
    this.path = path;
    this.version = version;
    this.cudaMajor = cudaMajor;
    this.problem = problem;
    this.warning = warning;
  }

  /** A usable library. */
  static LoadedLibrary loaded(CudaLibrary library, SymbolLookup lookup, Path path, String version, int cudaMajor) {
    return new LoadedLibrary(library, lookup, path, version, cudaMajor, null, null);
  }

  /** A library that is missing or unusable; {@code path} is what was found, if anything. */
  static LoadedLibrary missing(CudaLibrary library, Path path, String version, String problem) {
    return new LoadedLibrary(library, null, path, version, 0, problem, null);
  }

  /** The same library with a warning attached (it loads, but something around it is wrong). */
  LoadedLibrary withWarning(String newWarning) {
    return new LoadedLibrary(library, lookup, path, version, cudaMajor, problem, newWarning);
  }

  /** Which library this is. */
  public CudaLibrary library() {
    return library;
  }

  /** Whether the library is loaded and usable. */
  public boolean isLoaded() {
    return lookup != null;
  }

  /** The library's symbols. @throws CudaLibraryNotFoundException if it is not loaded */
  public SymbolLookup lookup() {
    if (lookup == null) {
      throw failure();
    }
    return lookup;
  }

  /** The loaded (or rejected) file, or null if none was found. */
  public Path path() {
    return path;
  }

  /** The library's own version, e.g. {@code "13.1.1"}, or null if unknown. */
  public String version() {
    return version;
  }

  /** The CUDA major version the library belongs to (13 or 12), or 0 if unknown. */
  public int cudaMajor() {
    return cudaMajor;
  }

  /** Why the library cannot be used, or null if it is loaded. */
  public String problem() {
    return problem;
  }

  /** The exception to throw when code needs this library and it is missing. */
  public CudaLibraryNotFoundException failure() {
    return new CudaLibraryNotFoundException(library.displayName(),
        problem == null ? library.displayName() + " is loaded" : problem);
  }

  /** This outcome as a report line. */
  public LibraryStatus status() {
    return new LibraryStatus(library.displayName(), isLoaded(), path == null ? null : path.toString(), version,
        problem != null ? problem : warning);
  }

  /** A one-line description for logs and failing tests. */
  @Override
  public String toString() {
    return status().toString();
  }
}
