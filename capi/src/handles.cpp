#include "handles.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "guard.h"

namespace sp::capi {

namespace {

// A slot's lock. It is held for a few instructions (a flag test and a shared_ptr copy or move), so a
// waiter spins, giving up the core between tries; the shared_ptr's own reference is never dropped
// under it.
class SlotLock {
 public:
  void lock() noexcept {
    while (held_.exchange(true, std::memory_order_acquire))
      while (held_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

// One handle. Its address is the handle the caller holds. A cache line each, so that threads
// working on different handles do not contend for one line through the locks.
struct alignas(64) HandleSlot {
  SlotLock lock;
  bool live = false;                    // under lock
  HandleKind kind = HandleKind::Model;  // under lock; meaningful while live
  std::shared_ptr<const void> object;   // under lock; the engine object of HandleTraits<...>::Object for kind
  HandleSlot* next_free = nullptr;      // under the pool's mutex, while the slot is on the free list
};

// Slab k holds 64 << k slots: 32 slabs hold 64 * (2^32 - 1) handles, more than memory does.
constexpr std::size_t first_slab_slots = 64;
constexpr std::size_t max_slabs = 32;

constexpr std::size_t slab_slots(std::size_t slab) { return first_slab_slots << slab; }

// Every handle's slot. Slabs are only ever appended (the array entry first, then the count, both
// published with release stores) and never freed, so a reader that loads the count with acquire
// sees every slab below it, and a slot's memory stays a slot for the life of the process.
class HandlePool {
 public:
  HandlePool() {
    for (auto& slab : slabs_) slab.store(nullptr, std::memory_order_relaxed);
  }

  // The slot whose address `address` is, or nullptr: computed from the address alone, with no
  // read of the memory it points to.
  HandleSlot* find(const void* address) const noexcept {
    const auto target = reinterpret_cast<std::uintptr_t>(address);
    const std::size_t count = slab_count_.load(std::memory_order_acquire);
    for (std::size_t slab = 0; slab < count; ++slab) {
      HandleSlot* first = slabs_[slab].load(std::memory_order_acquire);
      // Unsigned, so an address below the slab wraps to a large offset and fails the range test.
      const std::uintptr_t offset = target - reinterpret_cast<std::uintptr_t>(first);
      if (offset < slab_slots(slab) * sizeof(HandleSlot))
        return offset % sizeof(HandleSlot) == 0 ? first + offset / sizeof(HandleSlot) : nullptr;
    }
    return nullptr;
  }

  // A slot that is not live: the longest-freed one, else a never-used one (a new slab when the
  // newest is used up). Throws std::bad_alloc when no slab can be added.
  HandleSlot* take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_head_) {
      HandleSlot* slot = free_head_;
      free_head_ = slot->next_free;
      if (!free_head_) free_tail_ = nullptr;
      slot->next_free = nullptr;
      return slot;
    }
    std::size_t count = slab_count_.load(std::memory_order_relaxed);
    if (count == 0 || used_in_newest_ == slab_slots(count - 1)) {
      if (count == max_slabs) throw std::bad_alloc();
      // Never deleted: a slab must outlive every pointer a caller may still pass in.
      slabs_[count].store(new HandleSlot[slab_slots(count)], std::memory_order_release);
      slab_count_.store(++count, std::memory_order_release);
      used_in_newest_ = 0;
    }
    return slabs_[count - 1].load(std::memory_order_relaxed) + used_in_newest_++;
  }

  // Puts a slot that is no longer live at the back of the free list.
  void give_back(HandleSlot* slot) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_tail_)
      free_tail_->next_free = slot;
    else
      free_head_ = slot;
    free_tail_ = slot;
  }

 private:
  std::atomic<HandleSlot*> slabs_[max_slabs];
  std::atomic<std::size_t> slab_count_{0};
  std::mutex mutex_;                 // guards what follows; creation and free only
  std::size_t used_in_newest_ = 0;   // slots of the newest slab handed out so far
  HandleSlot* free_head_ = nullptr;  // freed slots, oldest first
  HandleSlot* free_tail_ = nullptr;
};

HandlePool& pool() {
  static auto* slots = new HandlePool();  // never destroyed: usable during exit
  return *slots;
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

// Copies the handle's engine reference while the slot's lock keeps it from being freed.
template <class Handle>
std::shared_ptr<typename HandleTraits<Handle>::Object> acquire(const Handle* handle, const char* name) {
  using Object = typename HandleTraits<Handle>::Object;
  constexpr HandleKind kind = HandleTraits<Handle>::kind;
  require(handle != nullptr, std::string(name) + " must not be NULL");
  if (HandleSlot* slot = pool().find(handle)) {
    std::lock_guard<SlotLock> lock(slot->lock);
    if (slot->live && slot->kind == kind) {
      // The slot's kind says which type publish() stored; one reference taken (the aliasing copy).
      auto* typed = const_cast<Object*>(static_cast<const Object*>(slot->object.get()));
      return std::shared_ptr<Object>(slot->object, typed);
    }
  }
  throw HandleError(std::string(name) + " is not a live " + kind_name(kind) + " (freed, or never created)");
}
}  // namespace

void* claim_slot(std::shared_ptr<const void> object, HandleKind kind) {
  HandleSlot* slot = pool().take();
  std::lock_guard<SlotLock> lock(slot->lock);  // a stale pointer to a reused slot may be checked meanwhile
  slot->object = std::move(object);
  slot->kind = kind;
  slot->live = true;
  return slot;
}

void release_slot(const void* handle, HandleKind kind) noexcept {
  HandleSlot* slot = handle ? pool().find(handle) : nullptr;
  if (!slot) return;
  std::shared_ptr<const void> dropped;  // destroyed last, outside the slot's lock
  {
    std::lock_guard<SlotLock> lock(slot->lock);
    if (!slot->live || slot->kind != kind) return;  // a double free, or a handle of another kind
    slot->live = false;
    dropped = std::move(slot->object);
  }
  pool().give_back(slot);
}

std::shared_ptr<engine::Model> checked(const sp_model* handle, const char* name) { return acquire(handle, name); }
std::shared_ptr<engine::Adapter> checked(const sp_adapter* handle, const char* name) { return acquire(handle, name); }
std::shared_ptr<engine::Trainer> checked(const sp_trainer* handle, const char* name) { return acquire(handle, name); }
std::shared_ptr<const tok::Tokenizer> checked(const sp_tokenizer* handle, const char* name) {
  return acquire(handle, name);
}
std::shared_ptr<engine::Context> checked(const sp_context* handle, const char* name) { return acquire(handle, name); }

}  // namespace sp::capi
