package dev.frugal.cuda;

/**
 * A library was loaded but does not export a function Frugal binds: the installed version is too
 * old for that call (for example a CUDA 11 driver without {@code cuGraphExecUpdate_v2}). Raised
 * when the function is first called, so the rest of the binding stays usable.
 */
public class CudaSymbolNotFoundException extends CudaException {
  private static final long serialVersionUID = 1L;

  /** @param message names the library file, its version, the symbol and the version that has it */
  public CudaSymbolNotFoundException(String message) {
    super(message);
  }
}
