package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_model_params;

/** How to load a model (sp_model_params). A new instance holds the C library's defaults. */
public final class ModelOptions {
  private Device device;
  private int deviceIndex;
  private DType dtype;
  private boolean allowTf32;

  public ModelOptions() {
    sp_model_params defaults = SoftPromptNative.sp_model_default_params();
    try {
      device = Device.of(defaults.getDevice());
      deviceIndex = defaults.getDevice_index();
      dtype = DType.of(defaults.getDtype());
      allowTf32 = defaults.getAllow_tf32() != 0;
    } finally {
      defaults.delete();
    }
  }

  public Device device() {
    return device;
  }

  public ModelOptions device(Device device) {
    this.device = Checks.notNull(device, "device");
    return this;
  }

  /** CUDA device ordinal; ignored on the CPU. */
  public int deviceIndex() {
    return deviceIndex;
  }

  public ModelOptions deviceIndex(int deviceIndex) {
    this.deviceIndex = deviceIndex;
    return this;
  }

  public DType dtype() {
    return dtype;
  }

  public ModelOptions dtype(DType dtype) {
    this.dtype = Checks.notNull(dtype, "dtype");
    return this;
  }

  /**
   * CUDA float32 models only: whether cuBLAS and cuDNN may use TF32 (faster, but its 10-bit
   * mantissa moves results at the 1e-3 level). Default false: strict float32. LibTorch's TF32
   * switch is process-wide and set per call from the model, so do not run CUDA models with
   * different settings concurrently. Ignored on the CPU and for other dtypes.
   */
  public boolean allowTf32() {
    return allowTf32;
  }

  public ModelOptions allowTf32(boolean allowTf32) {
    this.allowTf32 = allowTf32;
    return this;
  }

  /** A native copy (struct_size set by the library); the caller deletes it. */
  sp_model_params toNative() {
    sp_model_params params = SoftPromptNative.sp_model_default_params();
    params.setDevice(device.c);
    params.setDevice_index(deviceIndex);
    params.setDtype(dtype.c);
    params.setAllow_tf32(allowTf32 ? 1 : 0);
    return params;
  }

  @Override
  public String toString() {
    return "ModelOptions{device=" + device + ", deviceIndex=" + deviceIndex + ", dtype=" + dtype + ", allowTf32=" + allowTf32
        + "}";
  }
}
