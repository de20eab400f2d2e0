package server

// The adapters folder while the server runs: an adapter replaced under traffic (as a file and as a
// PEFT folder), one that fails to load, one added, one removed.

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"softprompt.dev/softprompt"
)

const pollInterval = 10 * time.Millisecond

// firstOfTwoVersions saves old as adapter "a" of folder (a file or a PEFT folder), to be replaced by
// replacement later, and returns what each generates from prompt alone (n tokens, greedily), which
// must differ for the test to tell the versions apart.
func firstOfTwoVersions(t *testing.T, folder string, asFolder bool, old, replacement *softprompt.Adapter,
	prompt string, n int) (wantOld, wantNew *softprompt.GeneratedRow) {
	t.Helper()
	wantOld, wantNew = direct(t, old, prompt, n), direct(t, replacement, prompt, n)
	if reflect.DeepEqual(wantOld.IDs, wantNew.IDs) {
		t.Fatal("the two versions generate the same tokens: choose other seeds")
	}
	saveAdapter(t, folder, "a", old, asFolder)
	return wantOld, wantNew
}

func TestReloadUnderTraffic(t *testing.T) {
	for _, asFolder := range []bool{false, true} {
		t.Run(map[bool]string{false: "file", true: "folder"}[asFolder], func(t *testing.T) {
			reloadUnderTraffic(t, asFolder)
		})
	}
}

func reloadUnderTraffic(t *testing.T, asFolder bool) {
	folder := t.TempDir()
	const newTokens = 10
	replacement := newAdapter(t, softprompt.MethodPrefixTuning, 2, 22)
	wantOld, wantNew := firstOfTwoVersions(t, folder, asFolder, newAdapter(t, softprompt.MethodPromptTuning, 4, 21),
		replacement, prompts[0], newTokens)
	want := map[uint64]*softprompt.GeneratedRow{1: wantOld, 2: wantNew}
	s := startServer(t, Config{AdaptersFolder: folder, PollInterval: pollInterval, Workers: 2, MaxBatch: 4})
	first := s.current(t, "a")

	// Clients keep asking for "a" until told to stop; each response is checked as it ends.
	var stop atomic.Bool
	var perVersion [3]atomic.Int64
	var failures []string
	var failuresMu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				g, err := s.generate(greedyRequest("a", prompts[0], newTokens))
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case g.status != http.StatusOK:
					problem = fmt.Sprintf("status %d %+v", g.status, g.err)
				case want[g.done.AdapterVersion] == nil:
					problem = fmt.Sprintf("adapter_version %d", g.done.AdapterVersion)
				case !reflect.DeepEqual(g.ids(), want[g.done.AdapterVersion].IDs):
					problem = fmt.Sprintf("version %d gave %v, want %v", g.done.AdapterVersion, g.ids(),
						want[g.done.AdapterVersion].IDs)
				default:
					perVersion[g.done.AdapterVersion].Add(1)
				}
				if problem != "" {
					failuresMu.Lock()
					failures = append(failures, problem)
					failuresMu.Unlock()
				}
			}
		}()
	}
	waitFor(t, "requests on the first version", 20*time.Second, func() bool { return perVersion[1].Load() >= 12 })
	saveAdapter(t, folder, "a", replacement, asFolder) // atomic: a load sees the old or the new one
	waitFor(t, "the watcher to load version 2", 20*time.Second, func() bool { return s.servedVersion(t, "a") == 2 })
	waitFor(t, "requests on the second version", 20*time.Second, func() bool { return perVersion[2].Load() >= 12 })
	stop.Store(true)
	wg.Wait()

	for _, failure := range failures {
		t.Error(failure)
	}
	t.Logf("%d responses from version 1, %d from version 2", perVersion[1].Load(), perVersion[2].Load())
	// After the swap has settled, requests get the new version.
	g, err := s.generate(greedyRequest("a", prompts[0], newTokens))
	if err != nil || g.done.AdapterVersion != 2 || g.text() != want[2].Text {
		t.Fatalf("after the reload: %v, version %d, text %q (want %q)", err, g.done.AdapterVersion, g.text(), want[2].Text)
	}
	// The replaced version's handle is closed once its last request has finished (its worker
	// releases it just after sending the last event).
	waitFor(t, "the replaced adapter to be closed", 10*time.Second, func() bool {
		_, err := first.adapter.Info()
		return isStatus(err, softprompt.StatusInvalidHandle)
	})
}

// A request in flight keeps the version it began with: held after its first token while the file
// is replaced, it finishes with the old version's tokens, the old handle staying open until then.
func TestSwapWaitsForTheRequestsInFlight(t *testing.T) {
	folder := t.TempDir()
	replacement := newAdapter(t, softprompt.MethodPTuning, 5, 52)
	wantOld, wantNew := firstOfTwoVersions(t, folder, false, newAdapter(t, softprompt.MethodPromptTuning, 4, 51),
		replacement, prompts[0], 6)
	s := startServer(t, Config{AdaptersFolder: folder, PollInterval: pollInterval, Workers: 2})
	reached, hold := make(chan struct{}), make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	defer release()      // a failure lets the worker go before the server's cleanup waits for it
	var held atomic.Bool // the first event only (a sync.Once would block the other worker too)
	s.engine.afterEvent = func() {
		if held.CompareAndSwap(false, true) {
			close(reached)
			<-hold
		}
	}
	type result struct {
		g   *generation
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		g, err := s.generate(greedyRequest("a", prompts[0], 6))
		inFlight <- result{g, err}
	}()
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the request did not start")
	}
	first := s.current(t, "a")
	saveAdapter(t, folder, "a", replacement, false)
	waitFor(t, "the watcher to load version 2", 20*time.Second, func() bool { return s.servedVersion(t, "a") == 2 })
	// New requests get the new version on the other worker meanwhile.
	g, err := s.generate(greedyRequest("a", prompts[0], 6))
	if err != nil || g.done.AdapterVersion != 2 || !reflect.DeepEqual(g.ids(), wantNew.IDs) {
		t.Fatalf("during the held request: %v, version %d, ids %v (want 2, %v)", err, g.done.AdapterVersion,
			g.ids(), wantNew.IDs)
	}
	if _, err := first.adapter.Info(); err != nil {
		t.Fatalf("the replaced adapter was closed under a request in flight: %v", err)
	}
	release()
	r := <-inFlight
	if r.err != nil || r.g.done.AdapterVersion != 1 || !reflect.DeepEqual(r.g.ids(), wantOld.IDs) {
		t.Fatalf("the held request: %v, version %d, ids %v (want 1, %v)", r.err, r.g.done.AdapterVersion,
			r.g.ids(), wantOld.IDs)
	}
	waitFor(t, "the replaced adapter to be closed", 10*time.Second, func() bool {
		_, err := first.adapter.Info()
		return isStatus(err, softprompt.StatusInvalidHandle)
	})
}

// current returns the registry's current version of name (nil when none).
func (s *testServer) current(t *testing.T, name string) *loaded {
	t.Helper()
	s.registry.mu.Lock()
	defer s.registry.mu.Unlock()
	version := s.registry.current[name]
	if version == nil {
		t.Fatalf("%s is not served", name)
	}
	return version
}

func isStatus(err error, status softprompt.Status) bool {
	var libraryErr *softprompt.Error
	return errors.As(err, &libraryErr) && libraryErr.Status == status
}

// A file rewritten in place with bytes that are not an adapter (as a copy in progress looks) does
// not load; the served version stays until a valid file replaces it.
func TestUnloadableChangeKeepsTheServedVersion(t *testing.T) {
	folder := t.TempDir()
	replacement := newAdapter(t, softprompt.MethodPromptTuning, 4, 32)
	wantOld, wantNew := firstOfTwoVersions(t, folder, false, newAdapter(t, softprompt.MethodPromptTuning, 4, 31),
		replacement, prompts[1], 8)
	s := startServer(t, Config{AdaptersFolder: folder, PollInterval: pollInterval})

	path := filepath.Join(folder, "a"+AdapterFileSuffix)
	if err := os.WriteFile(path, []byte("half an adapter"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failed load to be logged", 20*time.Second, func() bool {
		return strings.Contains(s.log.String(), "a changed but does not load (the served version stays)")
	})
	g, err := s.generate(greedyRequest("a", prompts[1], 8))
	if err != nil || g.done.AdapterVersion != 1 || !reflect.DeepEqual(g.ids(), wantOld.IDs) {
		t.Fatalf("after a failed load: %v, version %d, ids %v (want version 1, %v)", err, g.done.AdapterVersion,
			g.ids(), wantOld.IDs)
	}

	saveAdapter(t, folder, "a", replacement, false)
	waitFor(t, "the valid file to load", 20*time.Second, func() bool { return s.servedVersion(t, "a") == 2 })
	g, err = s.generate(greedyRequest("a", prompts[1], 8))
	if err != nil || !reflect.DeepEqual(g.ids(), wantNew.IDs) {
		t.Fatalf("after the valid file: %v, ids %v, want %v", err, g.ids(), wantNew.IDs)
	}
}

// Adapters added to the folder are served; removed ones are refused with 404. Hidden entries and
// files without the .spa suffix (a save's temporaries look like that) are not adapters.
func TestAdaptersAddedAndRemoved(t *testing.T) {
	folder := t.TempDir()
	s := startServer(t, Config{AdaptersFolder: folder, PollInterval: pollInterval})
	if len(s.Adapters()) != 0 {
		t.Fatalf("an empty folder serves %+v", s.Adapters())
	}
	added := newAdapter(t, softprompt.MethodPTuning, 3, 41)
	saveAdapter(t, folder, "new", added, false)
	saveAdapter(t, folder, "peft", added, true)
	for _, ignored := range []string{".hidden.spa", "notes.txt", "x.spa.tmp-1-ab"} {
		if err := added.SaveFile(filepath.Join(folder, ignored)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the new adapters", 20*time.Second, func() bool {
		return s.servedVersion(t, "new") == 1 && s.servedVersion(t, "peft") == 1
	})
	names := []string{}
	for _, a := range s.Adapters() {
		names = append(names, a.Name)
	}
	if !reflect.DeepEqual(names, []string{"new", "peft"}) {
		t.Fatalf("served %v, want [new peft]", names)
	}
	want := direct(t, added, prompts[2], 6)
	for _, name := range names {
		g, err := s.generate(greedyRequest(name, prompts[2], 6))
		if err != nil || !reflect.DeepEqual(g.ids(), want.IDs) {
			t.Fatalf("%s: %v, ids %v, want %v", name, err, g.ids(), want.IDs)
		}
	}

	if err := os.Remove(filepath.Join(folder, "new"+AdapterFileSuffix)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(folder, "peft")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removals", 20*time.Second, func() bool { return len(s.Adapters()) == 0 })
	for _, name := range names {
		g, err := s.generate(greedyRequest(name, prompts[2], 6))
		if err != nil || g.status != http.StatusNotFound {
			t.Fatalf("%s after removal: %v, status %d", name, err, g.status)
		}
	}
}
