// Small filesystem helpers shared by every reader and writer, and the two atomic save primitives.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sp::io {

// Whole file as bytes. Throws NotFound when the file is missing, Io on other failures.
std::string read_file(const std::string& path);

// Atomic saves and their temporaries.
//
// A writer never writes in place: it writes a sibling of the target in the target's own folder
// (same filesystem, so the final rename is atomic), named
//     <target name>.tmp-<writer pid>-<random hex>      for a file,
//     .<target name>.tmp-<writer pid>-<random hex>     for a folder (hidden),
// flushes it, and then renames it into place. Saves into one folder take turns (an exclusive flock
// on that folder for the whole save), so writers never race, across PID namespaces too. A writer
// killed before the rename leaves its temporary behind; every later save of the same target
// removes the temporaries whose writer pid no longer exists (kill(pid, 0) fails with ESRCH).
// (Writers on another machine sharing the folder over a network filesystem without working flock
// are not serialised: do not save one target from two machines at once.)

// Writes `bytes` so that `path` holds either its old content or the new one, never a mix: the data
// goes to a temporary file in the same folder, is flushed to disk, then renamed over `path`, and the
// folder is flushed. A crash at any moment leaves the previous file intact.
void write_file_atomically(const std::string& path, const void* bytes, std::size_t size);
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, bytes.data(), bytes.size());
}

struct FileToWrite {
  std::string name;  // a plain file name inside the folder
  std::string bytes;
};

// Replaces the folder `folder` as a unit: a reader of the folder finds either all of the old files
// or all of the new ones, never some of each, whenever the writer is killed.
//   1. The complete new folder is built as a hidden temporary sibling (.<name>.tmp-<pid>-<hex>):
//      `files`, plus every other entry of the current folder (a README.md, tokenizer files),
//      carried over as hard links (copies where linking is refused), so a save keeps them.
//      Files and the temporary folder are flushed.
//   2. It is swapped in with one renameat2(RENAME_EXCHANGE) when the folder exists (a plain rename
//      when it does not), and the parent folder is flushed.
//   3. The old contents, now under the temporary name, are deleted.
// Filesystems without RENAME_EXCHANGE (renameat2 failing with EINVAL, ENOSYS or EOPNOTSUPP): the
// current folder is first renamed to .<name>.old-<pid>-<hex> and the new one renamed into place.
// Readers then see the old folder, the new folder, or, between the two renames, no folder at all
// (a load fails with "not found"), still never a mix; if the writer dies in that moment, the next
// save of the folder renames the orphaned .old- folder back first, so its extra files survive.
// A folder that cannot be replaced by a rename - a mount point (EBUSY, EXDEV), or one whose parent
// may not be written - is saved file by file instead, each file atomically (weights first, then
// the config): a load during that save, or after a kill in it, may then find a mix.
// The folder's parents are created when missing. A symbolic link to a folder is followed.
void write_folder_atomically(const std::string& folder, const std::vector<FileToWrite>& files);

// Reading a folder that saves may replace meanwhile. A reader that opens adapter_config.json and
// then adapter_model.safetensors by path can get the first from the folder a save is replacing and
// the second from the new one (the swap is atomic, two opens are not). read_folder_consistently
// runs `read` (which reads files of `folder` by path) with the folder held open, and accepts its
// result, or its error, only if `folder` still names the folder it held (a save swaps in another
// one, and holding the old one open keeps its identity from being reused); otherwise it reads
// again, up to kFolderReadAttempts times, then gives the last answer.
constexpr int kFolderReadAttempts = 8;

class HeldFolder {
 public:
  explicit HeldFolder(const std::string& folder);
  ~HeldFolder();
  HeldFolder(const HeldFolder&) = delete;
  HeldFolder& operator=(const HeldFolder&) = delete;
  // True when `folder` names the same folder as when this object was made (or is missing both times).
  bool still_in_place() const;

 private:
  std::string folder_;
  int fd_;
};

template <typename Read>
auto read_folder_consistently(const std::string& folder, Read&& read) -> decltype(read()) {
  for (int attempt = 1;; ++attempt) {
    HeldFolder held(folder);
    try {
      auto result = read();
      if (held.still_in_place() || attempt == kFolderReadAttempts) return result;
    } catch (...) {
      if (held.still_in_place() || attempt == kFolderReadAttempts) throw;
    }
  }
}

bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
// Creates the folder (and missing parents); succeeds when it already exists.
void make_directories(const std::string& path);
std::string join_path(const std::string& folder, const std::string& name);
// `path` made absolute against the working directory and normalised as text ("." and empty parts
// dropped, ".." folded), like Python's os.path.abspath: symbolic links are kept, not followed (a
// Hugging Face cache names its files through links to extension-less blobs, and readers such as
// PEFT choose their format by the name's extension).
std::string absolute_path(const std::string& path);

}  // namespace sp::io
