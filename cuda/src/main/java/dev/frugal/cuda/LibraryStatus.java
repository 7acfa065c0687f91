package dev.frugal.cuda;

/**
 * What discovery found for one native library, as {@code frugal devices} prints it.
 *
 * @param name short library name: {@code cuda-driver}, {@code nvml}, {@code cublasLt},
 *     {@code cublas}, {@code nvrtc}, {@code nvrtc-builtins} or {@code cudnn}
 * @param found whether the library was found and loaded and is usable
 * @param path absolute path of the loaded file, or null when not found
 * @param version the library's own version string (e.g. {@code "13.1.1"}), or null when unknown
 * @param reason why it is missing or unusable (where Frugal looked, what to install), or a warning
 *     about a loaded library (e.g. a GPU too old for it); null when there is nothing to say
 */
public record LibraryStatus(String name, boolean found, String path, String version, String reason) {}
