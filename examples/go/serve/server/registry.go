package server

import (
	"sort"
	"sync"
	"sync/atomic"

	"softprompt.dev/softprompt"
)

// loaded is one version of one named adapter: the handle and what it was loaded from. A request
// holds a lease on the version it was routed to (refs) from its admission to its last event, so
// that the handle is closed only after every request that may still use it has finished, however
// many newer versions have been installed meanwhile.
type loaded struct {
	name    string
	version uint64 // the registry's count of loads of this name: 1, 2, ... (0: the base model)
	source  string // the file or folder it was loaded from
	adapter *softprompt.Adapter

	refs    int         // leases held (guarded by registry.mu)
	retired atomic.Bool // replaced or removed: no new lease; closed when refs reaches 0
}

// AdapterStatus describes one served adapter (GET /adapters).
type AdapterStatus struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Source  string `json:"source"`
}

// registry maps adapter names to their current version. Lookups (acquire) and installs never wait
// for a C call: closing a retired handle happens outside the lock, once its last lease is gone.
type registry struct {
	mu       sync.Mutex
	current  map[string]*loaded
	versions map[string]uint64 // the last version number given to each name, kept after removal
}

func newRegistry() *registry {
	return &registry{current: map[string]*loaded{}, versions: map[string]uint64{}}
}

// acquire leases the current version of name; the caller must release it. The empty name is the
// base model: a nil version, nothing to release. ok is false for an unknown name.
func (r *registry) acquire(name string) (version *loaded, ok bool) {
	if name == "" {
		return nil, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	version, ok = r.current[name]
	if ok {
		version.refs++
	}
	return version, ok
}

// serves reports whether name has a current version.
func (r *registry) serves(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.current[name]
	return ok
}

// release ends a lease from acquire (nil: the base model, nothing to do). The last lease on a
// retired version closes its handle.
func (r *registry) release(version *loaded) {
	if version == nil {
		return
	}
	r.mu.Lock()
	version.refs--
	closeNow := version.refs == 0 && version.retired.Load()
	r.mu.Unlock()
	if closeNow {
		version.adapter.Close()
	}
}

// install makes adapter the current version of name (new requests get it) and retires the
// previous one, which is closed when its last request ends. It returns the new version number.
func (r *registry) install(name, source string, adapter *softprompt.Adapter) uint64 {
	r.mu.Lock()
	r.versions[name]++
	version := &loaded{name: name, version: r.versions[name], source: source, adapter: adapter}
	previous := r.current[name]
	r.current[name] = version
	closePrevious := previous != nil && r.retireLocked(previous)
	r.mu.Unlock()
	if closePrevious {
		previous.adapter.Close()
	}
	return version.version
}

// remove stops serving name; its current version is closed when its last request ends.
func (r *registry) remove(name string) {
	r.mu.Lock()
	previous := r.current[name]
	delete(r.current, name)
	closePrevious := previous != nil && r.retireLocked(previous)
	r.mu.Unlock()
	if closePrevious {
		previous.adapter.Close()
	}
}

// retireLocked marks version retired and reports whether no request holds it (close it now).
func (r *registry) retireLocked(version *loaded) bool {
	version.retired.Store(true)
	return version.refs == 0
}

// closeAll retires every version (at shutdown, once no request runs) and closes them.
func (r *registry) closeAll() {
	r.mu.Lock()
	names := make([]string, 0, len(r.current))
	for name := range r.current {
		names = append(names, name)
	}
	r.mu.Unlock()
	for _, name := range names {
		r.remove(name)
	}
}

// list returns the served adapters, by name.
func (r *registry) list() []AdapterStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]AdapterStatus, 0, len(r.current))
	for _, version := range r.current {
		out = append(out, AdapterStatus{Name: version.name, Version: version.version, Source: version.source})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
