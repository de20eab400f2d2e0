package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_model_params;

/** How to load a model (sp_model_params). A new instance holds the C library's defaults. */
public final class ModelOptions {
  private Device device;
  private int deviceIndex;
  private DType dtype;

  public ModelOptions() {
    sp_model_params defaults = SoftPromptNative.sp_model_default_params();
    try {
      device = Device.of(defaults.getDevice());
      deviceIndex = defaults.getDevice_index();
      dtype = DType.of(defaults.getDtype());
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

  /** A native copy (struct_size set by the library); the caller deletes it. */
  sp_model_params toNative() {
    sp_model_params params = SoftPromptNative.sp_model_default_params();
    params.setDevice(device.c);
    params.setDevice_index(deviceIndex);
    params.setDtype(dtype.c);
    return params;
  }

  @Override
  public String toString() {
    return "ModelOptions{device=" + device + ", deviceIndex=" + deviceIndex + ", dtype=" + dtype + "}";
  }
}
