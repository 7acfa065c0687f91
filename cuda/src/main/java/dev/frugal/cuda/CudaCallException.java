package dev.frugal.cuda;

/**
 * A native call returned a non-success status. Subclasses exist per library so callers can catch,
 * say, only cuDNN failures; every one carries the library, the C function, the numeric status and
 * the library's own name for it ({@code cuGetErrorName}, {@code cublasGetStatusName}, ...).
 */
public abstract class CudaCallException extends CudaException {
  private static final long serialVersionUID = 1L;

  private final String library;
  private final String call;
  private final int status;
  private final String statusName;

  protected CudaCallException(String library, String call, int status, String statusName, String detail) {
    super(library + ": " + call + " failed with " + statusName + " (" + status + ")"
        + (detail == null || detail.isBlank() ? "" : ": " + detail));
    this.library = library;
    this.call = call;
    this.status = status;
    this.statusName = statusName;
  }

  /** The library that failed, e.g. {@code "cuBLAS"}. */
  public String library() {
    return library;
  }

  /** The C function that returned the status, e.g. {@code "cublasGemmEx"}. */
  public String call() {
    return call;
  }

  /** The numeric status code. */
  public int status() {
    return status;
  }

  /** The library's name for the status, e.g. {@code "CUDA_ERROR_OUT_OF_MEMORY"}. */
  public String statusName() {
    return statusName;
  }
}
