package dev.frugal.cuda;

/** A CUDA driver call returned a non-success status (CUresult, named by cuGetErrorName/cuGetErrorString). */
public class CudaDriverException extends CudaCallException {
  private static final long serialVersionUID = 1L;

  /**
   * @param library the library's display name
   * @param call the C function that failed
   * @param status the numeric status
   * @param statusName the library's name for the status
   * @param detail extra context (arguments, a compile log, a hint), or null
   */
  public CudaDriverException(String library, String call, int status, String statusName, String detail) {
    super(library, call, status, statusName, detail);
  }
}
