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
    case HandleKind::Model:
      return "sp_model";
    case HandleKind::Adapter:
      return "sp_adapter";
    case HandleKind::Trainer:
      return "sp_trainer";
    case HandleKind::Tokenizer:
      return "sp_tokenizer";
    case HandleKind::Context:
      return "sp_context";
  }
  return "handle";
}

// Copies the handle's engine reference while the registry lock keeps the handle from being freed.
template <class Handle, class Object>
std::shared_ptr<Object> acquire(const Handle* handle, HandleKind kind, const char* name) {
  require(handle != nullptr, std::string(name) + " must not be NULL");
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(handle);
  if (it == registry().end() || it->second != kind)
    throw HandleError(std::string(name) + " is not a live " + kind_name(kind) + " (freed, or never created)");
  return handle->object;
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

std::shared_ptr<engine::Model> checked(const sp_model* handle, const char* name) {
  return acquire<sp_model, engine::Model>(handle, HandleKind::Model, name);
}
std::shared_ptr<engine::Adapter> checked(const sp_adapter* handle, const char* name) {
  return acquire<sp_adapter, engine::Adapter>(handle, HandleKind::Adapter, name);
}
std::shared_ptr<engine::Trainer> checked(const sp_trainer* handle, const char* name) {
  return acquire<sp_trainer, engine::Trainer>(handle, HandleKind::Trainer, name);
}
std::shared_ptr<const tok::Tokenizer> checked(const sp_tokenizer* handle, const char* name) {
  return acquire<sp_tokenizer, const tok::Tokenizer>(handle, HandleKind::Tokenizer, name);
}
std::shared_ptr<engine::Context> checked(const sp_context* handle, const char* name) {
  return acquire<sp_context, engine::Context>(handle, HandleKind::Context, name);
}

}  // namespace sp::capi
