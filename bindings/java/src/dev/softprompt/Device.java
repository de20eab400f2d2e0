package dev.softprompt;

import dev.softprompt.internal.sp_device_kind;

/** Where a model runs. */
public enum Device {
  CPU(sp_device_kind.SP_DEVICE_CPU),
  /** A CUDA GPU, chosen by {@link ModelOptions#deviceIndex}. */
  CUDA(sp_device_kind.SP_DEVICE_CUDA);

  final sp_device_kind c;

  Device(sp_device_kind c) {
    this.c = c;
  }

  static Device of(sp_device_kind c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "device");
  }
}
