package dev.frugal.cuda;

/**
 * The GPU cannot run what Frugal needs: older than sm_75 (Turing) while the loaded libraries are
 * CUDA 13, which dropped older GPUs, or an architecture the loaded NVRTC cannot target.
 */
public class UnsupportedDeviceException extends CudaException {
  private static final long serialVersionUID = 1L;

  /** @param message names the device, its compute capability and what is required */
  public UnsupportedDeviceException(String message) {
    super(message);
  }
}
