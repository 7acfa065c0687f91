package dev.frugal.cuda.nvrtc;

/** Where {@code cuda_fp16.h} / {@code cuda_bf16.h} come from when a kernel includes them. */
public enum HalfHeaders {
  /** The toolkit's headers matching NVRTC's version if installed, else {@link #BUILTIN}. */
  AUTO,
  /** The toolkit's headers matching NVRTC's version; compiling fails clearly if none are installed. */
  TOOLKIT,
  /** Frugal's {@link HalfPrecisionPrelude}, whatever is installed. */
  BUILTIN
}
