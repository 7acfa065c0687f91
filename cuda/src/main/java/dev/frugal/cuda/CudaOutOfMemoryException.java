package dev.frugal.cuda;

/**
 * The driver could not allocate device or pinned host memory ({@code CUDA_ERROR_OUT_OF_MEMORY}).
 * A separate type because the memory manager reacts to it (free its cache and retry) rather than
 * failing the step.
 */
public class CudaOutOfMemoryException extends CudaDriverException {
  private static final long serialVersionUID = 1L;

  /** See {@link CudaDriverException#CudaDriverException}. */
  public CudaOutOfMemoryException(String library, String call, int status, String statusName, String detail) {
    super(library, call, status, statusName, detail);
  }
}
