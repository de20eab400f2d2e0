package server

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"softprompt.dev/softprompt"
)

// AdapterFileSuffix marks the single-file adapters of the adapters folder (Adapter.SaveFile); the
// name served is the file's name without it.
const AdapterFileSuffix = ".spa"

// watcher keeps the registry in step with the adapters folder by polling it (standard library
// only: no inotify). Each visible entry is an adapter: a folder in PEFT's layout
// (adapter_config.json and adapter_model.safetensors, Adapter.Save) named by the folder, or a
// file NAME.spa written by Adapter.SaveFile named NAME. Hidden entries (the library's folder
// temporaries, .NAME.tmp-...) and other files (NAME.spa.tmp-... while a file is being saved) are
// not adapters.
//
// An entry is loaded when its fingerprint changes (inode, size and modification time of the file,
// or of the folder and each file in it): both of the library's atomic saves give a new inode, and
// a folder rewritten in place changes its files. A load that fails (a folder still being copied,
// a truncated file) is logged and the version already served stays; the entry is tried again
// when it changes again. An entry that disappears stops being served.
type watcher struct {
	folder   string
	model    *softprompt.Model
	registry *registry
	logger   *log.Logger
	seen     map[string]string // name -> fingerprint of the last load tried, successful or not
	clashes  map[string]bool   // names given by both a folder and a file, reported once
}

// entry is one adapter found in the folder.
type entry struct {
	path        string
	isFolder    bool
	fingerprint string
}

func newWatcher(folder string, model *softprompt.Model, registry *registry, logger *log.Logger) *watcher {
	return &watcher{folder: folder, model: model, registry: registry, logger: logger,
		seen: map[string]string{}, clashes: map[string]bool{}}
}

// run scans every interval until stop is closed. The first scan is the caller's (New runs it
// before serving).
func (w *watcher) run(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			w.scan()
		}
	}
}

// scan loads what is new or changed and removes what is gone.
func (w *watcher) scan() {
	found, err := w.list()
	if err != nil {
		// A folder that cannot be read (moved away, permissions) changes nothing being served.
		w.logger.Printf("adapters: cannot read %s: %v", w.folder, err)
		return
	}
	for name, e := range found {
		if w.seen[name] == e.fingerprint {
			continue
		}
		w.seen[name] = e.fingerprint
		var adapter *softprompt.Adapter
		if e.isFolder {
			adapter, err = softprompt.LoadAdapter(w.model, e.path)
		} else {
			adapter, err = softprompt.LoadAdapterFile(w.model, e.path)
		}
		if err != nil {
			if w.registry.serves(name) {
				w.logger.Printf("adapters: %s changed but does not load (the served version stays): %v", name, err)
			} else {
				w.logger.Printf("adapters: %s does not load: %v", name, err)
			}
			continue
		}
		version := w.registry.install(name, e.path, adapter)
		w.logger.Printf("adapters: %s version %d loaded from %s", name, version, e.path)
	}
	for name := range w.seen {
		if _, ok := found[name]; !ok {
			delete(w.seen, name)
			w.registry.remove(name)
			w.logger.Printf("adapters: %s removed", name)
		}
	}
}

// list returns the folder's adapters by name, with their fingerprints.
func (w *watcher) list() (map[string]entry, error) {
	items, err := os.ReadDir(w.folder)
	if err != nil {
		return nil, err
	}
	found := map[string]entry{}
	for _, item := range items {
		if strings.HasPrefix(item.Name(), ".") {
			continue
		}
		path := filepath.Join(w.folder, item.Name())
		info, err := os.Stat(path) // follows symbolic links: a link to an adapter is an adapter
		if err != nil {
			continue // gone since ReadDir
		}
		name, isFolder := item.Name(), info.IsDir()
		if !isFolder {
			if !info.Mode().IsRegular() || !strings.HasSuffix(name, AdapterFileSuffix) ||
				name == AdapterFileSuffix {
				continue
			}
			name = strings.TrimSuffix(name, AdapterFileSuffix)
		}
		fingerprint := fileFingerprint(info)
		if isFolder {
			if fingerprint, err = folderFingerprint(path, info); err != nil {
				continue
			}
		}
		if previous, clash := found[name]; clash {
			// NAME/ and NAME.spa: the folder is served.
			if !w.clashes[name] {
				w.clashes[name] = true
				w.logger.Printf("adapters: both a folder and a file are named %s; serving the folder", name)
			}
			if previous.isFolder {
				continue
			}
		}
		found[name] = entry{path: path, isFolder: isFolder, fingerprint: fingerprint}
	}
	return found, nil
}

// fileFingerprint identifies one version of a file: a file replaced by a rename has a new inode, a
// file rewritten in place a new size or modification time.
func fileFingerprint(info os.FileInfo) string {
	var inode uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		inode = st.Ino
	}
	return fmt.Sprintf("%d:%d:%d", inode, info.Size(), info.ModTime().UnixNano())
}

// folderFingerprint is the folder's fingerprint followed by each of its files'.
func folderFingerprint(path string, info os.FileInfo) (string, error) {
	items, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(fileFingerprint(info))
	for _, item := range items {
		itemInfo, err := item.Info()
		if err != nil {
			continue // removed since ReadDir: the next scan sees the folder as it then is
		}
		fmt.Fprintf(&b, "|%s=%s", item.Name(), fileFingerprint(itemInfo))
	}
	return b.String(), nil
}
