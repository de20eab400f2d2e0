// sp_memory_get_stats / sp_memory_reset_peak: what a device holds for this process. CUDA reads
// LibTorch's caching allocator (device-generic interface, so nothing here links the CUDA
// libraries); the CPU reads the process's resident set from /proc (Linux).
#include <ATen/ATen.h>
#include <c10/core/CachingDeviceAllocator.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "engine/engine.h"
#include "engine/translated.h"
#include "util/errors.h"

namespace sp::engine {

namespace {

// A "Vm..." line of /proc/self/status in bytes; Unsupported where the file or line is missing.
uint64_t proc_status_bytes(const char* key) {
  FILE* file = std::fopen("/proc/self/status", "r");
  if (!file) fail(ErrorKind::Unsupported, "CPU memory figures need /proc/self/status (Linux)");
  char line[256];
  long long kib = -1;
  const std::size_t length = std::strlen(key);
  while (std::fgets(line, sizeof line, file))
    if (std::strncmp(line, key, length) == 0 && line[length] == ':') {
      kib = std::atoll(line + length + 1);
      break;
    }
  std::fclose(file);
  if (kib < 0) fail(ErrorKind::Unsupported, std::string("/proc/self/status has no ") + key + " line");
  return static_cast<uint64_t>(kib) * 1024;
}

c10::DeviceAllocator* cuda_allocator(int32_t device_index) {
  const int count = cuda_device_count();
  if (device_index < 0 || device_index >= count)
    fail(ErrorKind::Device, "CUDA device " + std::to_string(device_index) + " does not exist (" +
                                std::to_string(count) + " visible to this build)");
  return c10::getDeviceAllocator(c10::DeviceType::CUDA);
}

void check_device(sp_device_kind device) {
  if (device != SP_DEVICE_CPU && device != SP_DEVICE_CUDA)
    fail(ErrorKind::InvalidArgument, "unknown device kind " + std::to_string(static_cast<int>(device)));
}

}  // namespace

MemoryStats memory_stats(sp_device_kind device, int32_t device_index) {
  check_device(device);
  if (device == SP_DEVICE_CPU) {
    const uint64_t resident = proc_status_bytes("VmRSS");
    return {resident, proc_status_bytes("VmHWM"), resident};
  }
  return translated([&] {
    const auto stats = cuda_allocator(device_index)->getDeviceStats(static_cast<c10::DeviceIndex>(device_index));
    constexpr auto all = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    return MemoryStats{static_cast<uint64_t>(stats.allocated_bytes[all].current),
                       static_cast<uint64_t>(stats.allocated_bytes[all].peak),
                       static_cast<uint64_t>(stats.reserved_bytes[all].current)};
  });
}

void reset_peak_memory(sp_device_kind device, int32_t device_index) {
  check_device(device);
  if (device == SP_DEVICE_CPU) {
    // Linux resets VmHWM to the current resident size when "5" is written to clear_refs.
    FILE* file = std::fopen("/proc/self/clear_refs", "w");
    const bool written = file && std::fputs("5", file) >= 0;
    if (file && std::fclose(file) != 0) fail(ErrorKind::Unsupported, "this kernel cannot reset the peak resident size");
    if (!written) fail(ErrorKind::Unsupported, "resetting the CPU peak needs /proc/self/clear_refs (Linux)");
    return;
  }
  translated([&] { cuda_allocator(device_index)->resetPeakStats(static_cast<c10::DeviceIndex>(device_index)); });
}

}  // namespace sp::engine
