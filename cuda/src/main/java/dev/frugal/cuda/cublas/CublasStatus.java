package dev.frugal.cuda.cublas;

import dev.frugal.cuda.CublasException;

/**
 * Turns a non-success {@code cublasStatus_t} into a {@link CublasException}; shared by cuBLAS and
 * cuBLASLt, which use the same status enum but each name it through their own library.
 */
final class CublasStatus {
  private CublasStatus() {}

  /**
   * The exception for a failed call.
   *
   * @param library {@code "cuBLAS"} or {@code "cuBLASLt"}
   * @param name the library's name for the status ({@code cublasGetStatusName})
   * @param description the library's description ({@code cublasGetStatusString}), or null
   * @param context the call's arguments worth showing, or null
   */
  static CublasException failure(String library, String call, int status, String name, String description,
      String context) {
    String detail = description == null ? context : context == null ? description : description + " [" + context + "]";
    return new CublasException(library, call, status, name, detail);
  }

  /** The fallback name when the library cannot name a status (it is missing, or returned NULL). */
  static String unnamed(int status) {
    return "CUBLAS_STATUS_" + status;
  }
}
