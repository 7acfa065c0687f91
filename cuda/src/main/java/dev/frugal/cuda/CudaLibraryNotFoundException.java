package dev.frugal.cuda;

/**
 * A native library (the CUDA driver, cuBLAS, cuBLASLt, cuDNN, NVRTC, NVML) could not be found or
 * loaded, or the one found cannot be used (a link-time stub, a driver older than the libraries'
 * CUDA major, NVRTC without its builtins). The message names where Frugal looked and what to
 * install. Raised at the first use of a binding, never when its class is loaded.
 */
public class CudaLibraryNotFoundException extends CudaException {
  private static final long serialVersionUID = 1L;

  private final String library;

  /**
   * @param library the library's short name as shown by {@code frugal devices} (e.g. "cublas")
   * @param message what was searched, what was found and what to install
   */
  public CudaLibraryNotFoundException(String library, String message) {
    super(message);
    this.library = library;
  }

  /** The library's short name, e.g. {@code "cuda-driver"} or {@code "nvrtc"}. */
  public String library() {
    return library;
  }
}
