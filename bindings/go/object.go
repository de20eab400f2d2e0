package softprompt

import (
	"runtime"
	"sort"
	"strings"
	"sync"
)

// swigHandle is what the SWIG handle types (Sp_model, Sp_adapter, Sp_trainer) have in common.
type swigHandle interface{ Swigcptr() uintptr }

// object guards the C handle of a Model, Adapter or Trainer against use after Close.
//
// Calls hold the read lock for as long as they use the handle, so any number of them may run at
// once, and Close (the write lock) waits for them before it frees the handle: a handle is never
// freed while C code uses it, and a call after Close gets an error instead of a freed pointer.
//
// The handle is kept as the SWIG interface value it came back as, so that calls do not box the
// pointer into an interface (an allocation) each time.
type object[H swigHandle] struct {
	mu     sync.RWMutex
	handle H
	live   bool   // false once closed
	kind   string // "Model", "Adapter" or "Trainer", for error messages
}

func newObject[H swigHandle](handle H, kind string) object[H] {
	return object[H]{handle: handle, live: true, kind: kind}
}

// acquire returns the live handle with the read lock held; call release when the C call is done.
func (o *object[H]) acquire() (H, error) {
	o.mu.RLock()
	if !o.live {
		o.mu.RUnlock()
		var none H
		return none, newError(StatusInvalidHandle, "the "+o.kind+" is closed")
	}
	return o.handle, nil
}

func (o *object[H]) release() { o.mu.RUnlock() }

// handleCall is lockedCall on o's live handle: f makes one fallible C call with it and reports
// whether it succeeded. The owner (Model, Adapter or Trainer, which o is part of) stays reachable
// until f returns, so its finalizer cannot free the handle during the call.
func handleCall[H swigHandle, T any](o *object[H], f func(H) (T, bool)) (T, error) {
	h, err := o.acquire()
	if err != nil {
		var none T
		return none, err
	}
	defer o.release()
	value, err := lockedCall(func() (T, bool) { return f(h) })
	runtime.KeepAlive(o)
	return value, err
}

// statusCall is handleCall for the C functions that return an sp_status.
func (o *object[H]) statusCall(f func(H) Enum_SS_sp_status) error {
	_, err := handleCall(o, func(h H) (struct{}, bool) { return struct{}{}, f(h) == SP_OK })
	return err
}

// withAdapters runs f with the C handles of adapters (a batch's row adapters, prompts' adapters),
// one per entry, 0 for a nil entry (nil: none). Each adapter is held (its read lock, as a call on
// it holds it) until f returns, so that none is freed during the C call; a closed one fails with
// StatusInvalidHandle before f runs. Each distinct adapter is acquired once, in the order of its
// handle: a sync.RWMutex blocks new readers while a writer (Close) waits, so two calls taking the
// same adapters in different orders could otherwise wait on each other behind two Closes.
func withAdapters(adapters []*Adapter, f func(handles []uintptr) error) error {
	if len(adapters) == 0 {
		return f(nil)
	}
	distinct := make([]*Adapter, 0, len(adapters))
	seen := make(map[*Adapter]bool, len(adapters))
	for _, a := range adapters {
		if a != nil && !seen[a] {
			seen[a] = true
			distinct = append(distinct, a)
		}
	}
	// The handle never changes after creation (only live does), so it may be read unlocked.
	sort.Slice(distinct, func(i, j int) bool {
		return distinct[i].handle.Swigcptr() < distinct[j].handle.Swigcptr()
	})
	for i, a := range distinct {
		if _, err := a.acquire(); err != nil {
			for _, held := range distinct[:i] {
				held.release()
			}
			return err
		}
	}
	defer func() {
		for _, a := range distinct {
			a.release()
		}
		runtime.KeepAlive(adapters)
	}()
	handles := make([]uintptr, len(adapters))
	for i, a := range adapters {
		if a != nil {
			handles[i] = a.handle.Swigcptr()
		}
	}
	return f(handles)
}

// close frees the handle once; later calls do nothing.
func (o *object[H]) close(free func(H)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.live {
		free(o.handle)
		o.live = false
	}
}

// checkString rejects strings that C would silently cut short at a NUL byte.
func checkString(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return newError(StatusInvalidArgument, what+" contains a NUL byte")
	}
	return nil
}
