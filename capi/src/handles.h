// The objects behind the opaque C handles, and a registry of live handles so that a freed or
// foreign pointer is reported as SP_ERR_INVALID_HANDLE instead of being dereferenced.
//
// Every entry point takes its own reference to the engine objects it uses (checked() returns a
// shared_ptr copied under the registry lock), and holds it for the whole call. A *_free on another
// thread then only unregisters the handle and drops the handle's reference: the object lives until
// the running call returns, so a concurrent free is never a use-after-free.
#pragma once

#include <memory>
#include <utility>

#include "engine/context.h"
#include "engine/engine.h"
#include "softprompt/softprompt.h"

struct sp_model {
  std::shared_ptr<sp::engine::Model> object;
};
struct sp_adapter {
  std::shared_ptr<sp::engine::Adapter> object;
};
struct sp_trainer {
  std::shared_ptr<sp::engine::Trainer> object;
};
struct sp_tokenizer {
  std::shared_ptr<const sp::tok::Tokenizer> object;
};
struct sp_context {
  std::shared_ptr<sp::engine::Context> object;
};

namespace sp::capi {

enum class HandleKind { Model, Adapter, Trainer, Tokenizer, Context };

void register_handle(const void* handle, HandleKind kind);
// Removes the handle; false when it was not registered (never created, or already freed).
bool unregister_handle(const void* handle, HandleKind kind);

// The engine object behind a live handle, as a reference owned by the caller. NULL throws
// InvalidArgument (SP_ERR_INVALID_ARGUMENT); a freed or foreign handle throws HandleError
// (SP_ERR_INVALID_HANDLE).
std::shared_ptr<engine::Model> checked(const sp_model* handle, const char* name);
std::shared_ptr<engine::Adapter> checked(const sp_adapter* handle, const char* name);
std::shared_ptr<engine::Trainer> checked(const sp_trainer* handle, const char* name);
std::shared_ptr<const tok::Tokenizer> checked(const sp_tokenizer* handle, const char* name);
std::shared_ptr<engine::Context> checked(const sp_context* handle, const char* name);

// Wraps a new engine object in a registered handle and hands it to the caller through *out.
template <class Handle, class Object>
void publish(Handle** out, std::shared_ptr<Object> object, HandleKind kind) {
  auto handle = std::make_unique<Handle>();
  handle->object = std::move(object);
  register_handle(handle.get(), kind);
  *out = handle.release();
}

// Frees a handle of the given type if it is live; ignores NULL and dead handles.
template <class Handle>
void free_handle(Handle* handle, HandleKind kind) noexcept {
  if (handle && unregister_handle(handle, kind)) delete handle;
}

}  // namespace sp::capi
