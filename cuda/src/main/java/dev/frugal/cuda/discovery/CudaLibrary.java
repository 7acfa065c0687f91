package dev.frugal.cuda.discovery;

/**
 * The native libraries Frugal binds, in the order they must be loaded: cuBLASLt before cuBLAS (so
 * cuBLAS cannot pick up a mismatched cuBLASLt through its RUNPATH), the NVRTC builtins before
 * NVRTC compiles anything, and cuDNN last because it {@code dlopen}s cuBLASLt and NVRTC by soname
 * and must find the ones already loaded.
 */
public enum CudaLibrary {
  /** {@code libcuda.so.1}, part of the NVIDIA display driver; loaded by soname only. */
  DRIVER("cuda-driver", "install the NVIDIA display driver (>= 580 for CUDA 13, >= 525 for CUDA 12);"
      + " in a container, start it with the NVIDIA container toolkit (docker run --gpus all)"),
  /** {@code libnvidia-ml.so.1}, part of the NVIDIA display driver; loaded by soname only. */
  NVML("nvml", "install the NVIDIA display driver, which ships libnvidia-ml.so.1;"
      + " in a container, start it with the NVIDIA container toolkit (docker run --gpus all)"),
  /** {@code libcublasLt.so.13} or {@code .12}. */
  CUBLAS_LT("cublasLt", "pip install nvidia-cublas (CUDA 13) or nvidia-cublas-cu12 (CUDA 12),"
      + " or install the CUDA toolkit, or set FRUGAL_CUDA_LIBS to the folder holding libcublasLt.so.13"),
  /** {@code libcublas.so.13} or {@code .12}, on the same major as cuBLASLt. */
  CUBLAS("cublas", "pip install nvidia-cublas (CUDA 13) or nvidia-cublas-cu12 (CUDA 12),"
      + " or install the CUDA toolkit, or set FRUGAL_CUDA_LIBS to the folder holding libcublas.so.13"),
  /** {@code libnvrtc-builtins.so.M.m}, exactly matching the loaded NVRTC's version. */
  NVRTC_BUILTINS("nvrtc-builtins", "reinstall NVRTC so that libnvrtc-builtins.so.<major>.<minor> sits next to"
      + " libnvrtc.so: pip install --force-reinstall nvidia-cuda-nvrtc (CUDA 13) or nvidia-cuda-nvrtc-cu12"),
  /** {@code libnvrtc.so.13} or {@code .12}, on the same major as cuBLAS. */
  NVRTC("nvrtc", "pip install nvidia-cuda-nvrtc (CUDA 13) or nvidia-cuda-nvrtc-cu12 (CUDA 12),"
      + " or install the CUDA toolkit, or set FRUGAL_CUDA_LIBS to the folder holding libnvrtc.so.13"),
  /** {@code libcudnn.so.9}, built for the same CUDA major as cuBLAS. */
  CUDNN("cudnn", "pip install nvidia-cudnn-cu13 (CUDA 13) or nvidia-cudnn-cu12 (CUDA 12),"
      + " or set FRUGAL_CUDA_LIBS (or CUDNN_PATH) to the folder holding libcudnn.so.9");

  private final String displayName;
  private final String installHint;

  CudaLibrary(String displayName, String installHint) {
    this.displayName = displayName;
    this.installHint = installHint;
  }

  /** The short name used in reports and messages, e.g. {@code "cublasLt"}. */
  public String displayName() {
    return displayName;
  }

  /** What to install to get this library, as one sentence fragment. */
  public String installHint() {
    return installHint;
  }
}
