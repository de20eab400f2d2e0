// The opaque C handles, and the checks that report a freed or foreign pointer as
// SP_ERR_INVALID_HANDLE instead of dereferencing it, with no process-wide lock on the call path.
//
// A handle (sp_model*, sp_adapter*, sp_trainer*, sp_tokenizer*, sp_context*) is the address of a
// slot in a pool of slabs (handles.cpp). The handle structs are never defined: a slot holds a lock,
// the handle's kind, whether it is live, and the shared_ptr to its engine object. Slabs are never
// returned to the allocator while the process lives, so memory that once was a slot stays one:
//   - checked() decides from the address alone whether a pointer is a slot (an exact slot boundary
//     inside a published slab; nothing else is read, so a stack, malloc'd or misaligned pointer is
//     refused without being dereferenced), then takes that slot's own lock to test that the slot is
//     live and of the expected kind and to copy the shared_ptr;
//   - a *_free takes the same lock, marks the slot dead and moves the shared_ptr out (the reference
//     is dropped after the lock is released), then puts the slot on the free list.
// The shared_ptr is read and written only under its slot's lock. Only creating and freeing a handle
// take the pool's mutex (the free list and the growth of the slabs).
//
// Every entry point holds its own reference to the engine objects it uses (the copy checked()
// returns) for the whole call, so a *_free on another thread only drops the handle's reference: the
// object lives until the running call returns, and a concurrent free is never a use-after-free.
//
// Reuse: a freed slot goes to the back of a first-in first-out list and is given to a later handle
// once the slots freed before it have been; a stale pointer to it then reaches that new handle if it
// is of the same kind (of another kind it is refused). This is the case the public header excepts
// ("as long as the memory was not reused for a new handle of the same kind"), as malloc reusing a
// freed address was before.
#pragma once

#include <memory>
#include <stdexcept>
#include <utility>

#include "engine/context.h"
#include "engine/engine.h"
#include "softprompt/softprompt.h"

namespace sp::capi {

enum class HandleKind { Model, Adapter, Trainer, Tokenizer, Context };

// The engine object and the kind of each handle type.
template <class EngineObject, HandleKind handle_kind>
struct HandleTraitsOf {
  using Object = EngineObject;
  static constexpr HandleKind kind = handle_kind;
};
template <class Handle>
struct HandleTraits;
template <>
struct HandleTraits<sp_model> : HandleTraitsOf<engine::Model, HandleKind::Model> {};
template <>
struct HandleTraits<sp_adapter> : HandleTraitsOf<engine::Adapter, HandleKind::Adapter> {};
template <>
struct HandleTraits<sp_trainer> : HandleTraitsOf<engine::Trainer, HandleKind::Trainer> {};
template <>
struct HandleTraits<sp_tokenizer> : HandleTraitsOf<const tok::Tokenizer, HandleKind::Tokenizer> {};
template <>
struct HandleTraits<sp_context> : HandleTraitsOf<engine::Context, HandleKind::Context> {};

// Puts `object` in a free slot (a new slab when none is left; std::bad_alloc when it cannot be
// allocated) as a live handle of `kind`, and returns the slot's address.
void* claim_slot(std::shared_ptr<const void> object, HandleKind kind);
// Marks the slot at `handle` dead, drops its reference and recycles the slot; nothing happens when
// `handle` is not a live handle of `kind` (NULL, foreign, already freed, or of another kind).
void release_slot(const void* handle, HandleKind kind) noexcept;

// The engine object behind a live handle, as a reference owned by the caller. NULL throws
// InvalidArgument (SP_ERR_INVALID_ARGUMENT); a freed or foreign handle, or one of another kind,
// throws HandleError (SP_ERR_INVALID_HANDLE).
std::shared_ptr<engine::Model> checked(const sp_model* handle, const char* name);
std::shared_ptr<engine::Adapter> checked(const sp_adapter* handle, const char* name);
std::shared_ptr<engine::Trainer> checked(const sp_trainer* handle, const char* name);
std::shared_ptr<const tok::Tokenizer> checked(const sp_tokenizer* handle, const char* name);
std::shared_ptr<engine::Context> checked(const sp_context* handle, const char* name);

// Wraps a new engine object in a live handle and hands it to the caller through *out. The object
// must convert to the handle type's engine object, and `kind` must be the handle type's kind
// (std::logic_error otherwise): checked() relies on a slot's kind to know its object's type.
template <class Handle, class Object>
void publish(Handle** out, std::shared_ptr<Object> object, HandleKind kind) {
  if (kind != HandleTraits<Handle>::kind) throw std::logic_error("publish: the kind does not match the handle type");
  std::shared_ptr<typename HandleTraits<Handle>::Object> typed = std::move(object);
  *out = static_cast<Handle*>(claim_slot(std::move(typed), kind));
}

// Frees a handle of the given type if it is live; ignores NULL, dead and foreign handles.
template <class Handle>
void free_handle(Handle* handle, HandleKind kind) noexcept {
  release_slot(handle, kind);
}

}  // namespace sp::capi
