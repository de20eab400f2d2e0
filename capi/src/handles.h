// The objects behind the opaque C handles, and a registry of live handles so that a freed or
// foreign pointer is reported as SP_ERR_INVALID_HANDLE instead of being dereferenced.
#pragma once

#include <memory>

#include "engine/engine.h"
#include "softprompt/softprompt.h"

struct sp_model {
  std::shared_ptr<sp::engine::Model> model;
};
struct sp_adapter {
  std::shared_ptr<sp::engine::Adapter> adapter;
};
struct sp_trainer {
  std::shared_ptr<sp::engine::Trainer> trainer;
};

namespace sp::capi {

enum class HandleKind { Model, Adapter, Trainer };

void register_handle(const void* handle, HandleKind kind);
// Removes the handle; false when it was not registered (never created, or already freed).
bool unregister_handle(const void* handle, HandleKind kind);
bool is_live(const void* handle, HandleKind kind);

// Throw InvalidHandle-style errors (mapped to SP_ERR_INVALID_HANDLE) for NULL or dead handles.
const sp_model& checked(const sp_model* handle, const char* name);
const sp_adapter& checked(const sp_adapter* handle, const char* name);
const sp_trainer& checked(const sp_trainer* handle, const char* name);

// Frees a handle of the given type if it is live; ignores NULL and dead handles.
template <class Handle>
void free_handle(Handle* handle, HandleKind kind) noexcept {
  if (handle && unregister_handle(handle, kind)) delete handle;
}

}  // namespace sp::capi
