package dev.frugal.cuda;

/** A cuBLAS or cuBLASLt call returned a non-success status (cublasStatus_t, named by cublasGetStatusName / cublasLtGetStatusName). */
public class CublasException extends CudaCallException {
  private static final long serialVersionUID = 1L;

  /**
   * @param library the library's display name
   * @param call the C function that failed
   * @param status the numeric status
   * @param statusName the library's name for the status
   * @param detail extra context (arguments, a compile log, a hint), or null
   */
  public CublasException(String library, String call, int status, String statusName, String detail) {
    super(library, call, status, statusName, detail);
  }
}
