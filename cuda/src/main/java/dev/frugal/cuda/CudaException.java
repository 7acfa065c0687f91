package dev.frugal.cuda;

/**
 * Base class of every failure raised by Frugal's CUDA bindings: a missing or mismatched library,
 * an unsupported device, or a non-success status returned by a CUDA, cuBLAS, cuDNN, NVRTC or NVML
 * call. Unchecked, because a caller can rarely do more than report it, and the message always says
 * what was found, what was needed and what to install.
 */
public class CudaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a complete, user-facing message. */
  public CudaException(String message) {
    super(message);
  }

  /** Creates an exception with a complete, user-facing message and the failure that caused it. */
  public CudaException(String message, Throwable cause) {
    super(message, cause);
  }
}
