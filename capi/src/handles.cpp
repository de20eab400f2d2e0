#include "handles.h"

#include <mutex>
#include <unordered_map>

#include "guard.h"

namespace sp::capi {

namespace {
std::mutex registry_mutex;
std::unordered_map<const void*, HandleKind>& registry() {
  static auto* live = new std::unordered_map<const void*, HandleKind>();  // never destroyed: usable during exit
  return *live;
}

const char* kind_name(HandleKind kind) {
  switch (kind) {
    case HandleKind::Model: return "sp_model";
    case HandleKind::Adapter: return "sp_adapter";
    case HandleKind::Trainer: return "sp_trainer";
  }
  return "handle";
}

template <class Handle>
const Handle& check(const Handle* handle, HandleKind kind, const char* name) {
  require(handle != nullptr, std::string(name) + " must not be NULL");
  if (!is_live(handle, kind))
    throw HandleError(std::string(name) + " is not a live " + kind_name(kind) + " (freed, or never created)");
  return *handle;
}
}  // namespace

void register_handle(const void* handle, HandleKind kind) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry()[handle] = kind;
}

bool unregister_handle(const void* handle, HandleKind kind) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(handle);
  if (it == registry().end() || it->second != kind) return false;
  registry().erase(it);
  return true;
}

bool is_live(const void* handle, HandleKind kind) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(handle);
  return it != registry().end() && it->second == kind;
}

const sp_model& checked(const sp_model* handle, const char* name) { return check(handle, HandleKind::Model, name); }
const sp_adapter& checked(const sp_adapter* handle, const char* name) { return check(handle, HandleKind::Adapter, name); }
const sp_trainer& checked(const sp_trainer* handle, const char* name) { return check(handle, HandleKind::Trainer, name); }

}  // namespace sp::capi
