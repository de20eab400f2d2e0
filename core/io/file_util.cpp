#include "io/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "util/errors.h"

namespace sp::io {

namespace {
std::string errno_text(int error) { return std::strerror(error); }
std::string errno_text() { return errno_text(errno); }

void write_all(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail(ErrorKind::Io, "cannot write '" + path + "': " + errno_text());
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

// Creates `path` (which must not exist), writes `bytes` and flushes them to disk.
void write_new_file(const std::string& path, const void* bytes, std::size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorKind::Io, "cannot create '" + path + "': " + errno_text());
  try {
    write_all(fd, static_cast<const char*>(bytes), size, path);
    if (::fsync(fd) != 0) fail(ErrorKind::Io, "cannot flush '" + path + "': " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(path.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    std::string reason = errno_text();
    ::unlink(path.c_str());
    fail(ErrorKind::Io, "cannot close '" + path + "': " + reason);
  }
}

// Makes renames and new entries inside `folder` durable. Best effort: some filesystems refuse it.
void flush_folder(const std::string& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// rm -rf of the entry `name` in the open folder `parent_fd`, errors ignored. Every step goes through
// file descriptors opened with O_NOFOLLOW (openat, fdopendir, unlinkat): a folder swapped for a
// symbolic link meanwhile is never followed, so nothing outside the tree is ever deleted. (POSIX
// calls, not std::filesystem::remove_all: the torch wheel's libtorch.so exports an incompatible
// copy of std::filesystem that takes precedence over ours.)
void remove_entry_quietly(int parent_fd, const std::string& name) {
  if (::unlinkat(parent_fd, name.c_str(), 0) == 0 || (errno != EISDIR && errno != EPERM)) return;
  const int fd = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir))
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
      names.emplace_back(entry->d_name);
  for (const std::string& child : names) remove_entry_quietly(::dirfd(dir), child);
  ::closedir(dir);  // closes fd
  ::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR);
}

void remove_quietly(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const int parent_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return;
  remove_entry_quietly(parent_fd, name);
  ::close(parent_fd);
}

// Entry names of `folder` ("." and ".." left out). Throws Io when the folder cannot be listed.
std::vector<std::string> folder_entries(const std::string& folder) {
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) fail(ErrorKind::Io, "cannot list '" + folder + "': " + errno_text());
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  return names;
}

// --- temporaries: <target>.tmp-<pid>-<hex> for files, .<target>.<kind>-<pid>-<hex> (hidden) for
// folders, kind "tmp" (being written, or the replaced contents) or "old" (the previous folder during
// a save without RENAME_EXCHANGE).

std::string temporary_name(const std::string& target_name, const char* kind, bool hidden) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream name;
  name << (hidden ? "." : "") << target_name << '.' << kind << '-' << ::getpid() << '-' << std::hex << rng();
  return name.str();
}

// The pid in "<pid>-<hex>", or 0 when `rest` has another form. The random part is 64 bits in hex
// without leading zeros: fewer than 8 digits is a 1 in 2^32 draw, so such names (a user's
// "adapter.tmp-2023-12") are never taken for ours.
pid_t pid_of_suffix(const std::string& rest) {
  const std::size_t dash = rest.find('-');
  const std::size_t digits = dash == std::string::npos ? 0 : rest.size() - dash - 1;
  if (dash == std::string::npos || dash == 0 || dash > 10 || digits < 8 || digits > 16) return 0;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(rest[i]);
    if (i < dash ? !std::isdigit(c) : (i > dash && !std::isxdigit(c))) return 0;
  }
  const long long pid = std::stoll(rest.substr(0, dash));
  return pid > 0 && pid <= INT_MAX ? static_cast<pid_t>(pid) : 0;
}

// The writer's pid when `entry` is a temporary of kind `kind` for `target_name`, else 0. Folder
// temporaries are hidden; a visible name counts only for "tmp" (file temporaries, and those that
// versions before 0.3 left inside adapter folders), never for "old" (a user's "adapter.old-...").
pid_t temporary_writer(const std::string& entry, const std::string& target_name, const std::string& kind) {
  const std::string visible = target_name + "." + kind + "-", hidden = "." + visible;
  if (entry.compare(0, hidden.size(), hidden) == 0) return pid_of_suffix(entry.substr(hidden.size()));
  if (kind == "tmp" && entry.compare(0, visible.size(), visible) == 0)
    return pid_of_suffix(entry.substr(visible.size()));
  return 0;
}

// Only ESRCH proves the writer gone: EPERM means a live process of another user.
bool writer_is_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

bool is_stale_temporary(const std::string& entry, const std::string& target_name) {
  pid_t pid = temporary_writer(entry, target_name, "tmp");
  if (pid == 0) pid = temporary_writer(entry, target_name, "old");
  return writer_is_gone(pid);
}

// Saves into one folder take turns: an exclusive flock on the parent folder for the whole save. So
// no two writers of a target ever race (on this machine, across PID namespaces too: the kernel
// holds the lock, and drops it when a writer dies), and every temporary seen under the lock is a
// dead writer's, whatever its pid means in this namespace. Best effort where flock is refused.
class ParentLock {
 public:
  explicit ParentLock(const std::string& parent) : fd_(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~ParentLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  ParentLock(const ParentLock&) = delete;
  ParentLock& operator=(const ParentLock&) = delete;

 private:
  int fd_;
};

void remove_stale_temporaries(const std::string& parent, const std::string& target_name) {
  std::vector<std::string> names;
  try {
    names = folder_entries(parent);
  } catch (const Error&) {
    return;  // cleaning up is a courtesy; the save itself reports real problems
  }
  for (const std::string& name : names)
    if (is_stale_temporary(name, target_name)) remove_quietly(join_path(parent, name));
}

// Where a save goes: the target's folder and its name there.
struct Target {
  std::string parent, name, path;
};

Target target_of(const std::string& path, bool follow_symlink) {
  std::string full = absolute_path(path);
  while (full.size() > 1 && full.back() == '/') full.pop_back();  // "adapter/" names "adapter"
  std::string name = full.substr(full.rfind('/') + 1);
  struct stat info;
  const bool link = follow_symlink && ::lstat(full.c_str(), &info) == 0 && S_ISLNK(info.st_mode);
  if (name == "." || name == ".." || link) {
    char resolved[PATH_MAX];
    if (::realpath(full.c_str(), resolved)) full = resolved;
    name = full.substr(full.rfind('/') + 1);
  }
  if (name.empty() || name == "." || name == "..")
    fail(ErrorKind::InvalidArgument, "cannot save to '" + path + "': it names no file or folder");
  const std::size_t slash = full.rfind('/');
  return {slash == 0 ? "/" : full.substr(0, slash), name, full};
}

// --- carrying the entries we do not write into the new folder

// Copies in 1 MiB pieces: a large file a user keeps in the folder never passes through memory whole.
void copy_file(const std::string& from, const std::string& to, mode_t mode) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail(ErrorKind::Io, "cannot read '" + from + "': " + errno_text());
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    fail(ErrorKind::Io, "cannot create '" + to + "': " + errno_text(error));
  }
  try {
    std::vector<char> buffer(1 << 20);
    for (;;) {
      const ssize_t got = ::read(in, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(ErrorKind::Io, "cannot read '" + from + "': " + errno_text());
      if (got == 0) break;
      write_all(out, buffer.data(), static_cast<std::size_t>(got), to);
    }
    if (::fsync(out) != 0) fail(ErrorKind::Io, "cannot flush '" + to + "': " + errno_text());
  } catch (...) {
    ::close(in);
    ::close(out);
    throw;
  }
  ::close(in);
  if (::close(out) != 0) fail(ErrorKind::Io, "cannot close '" + to + "': " + errno_text());
}

void carry_entry(const std::string& from, const std::string& to) {
  struct stat info;
  if (::lstat(from.c_str(), &info) != 0) {
    if (errno == ENOENT) return;  // removed by its owner meanwhile
    fail(ErrorKind::Io, "cannot read '" + from + "': " + errno_text());
  }
  if (S_ISDIR(info.st_mode)) {
    if (::mkdir(to.c_str(), 0700) != 0) fail(ErrorKind::Io, "cannot create '" + to + "': " + errno_text());
    for (const std::string& name : folder_entries(from)) carry_entry(join_path(from, name), join_path(to, name));
    flush_folder(to);
    ::chmod(to.c_str(), info.st_mode & 07777);
  } else if (S_ISREG(info.st_mode)) {
    if (::link(from.c_str(), to.c_str()) == 0) return;  // same inode: nothing to copy or flush
    copy_file(from, to, info.st_mode & 07777);          // linking refused (protected_hardlinks, no links there)
  } else if (S_ISLNK(info.st_mode)) {
    std::string destination(static_cast<std::size_t>(info.st_size) + 1, '\0');
    const ssize_t length = ::readlink(from.c_str(), &destination[0], destination.size());
    if (length < 0 || static_cast<std::size_t>(length) >= destination.size() ||
        ::symlink(destination.substr(0, static_cast<std::size_t>(length)).c_str(), to.c_str()) != 0)
      fail(ErrorKind::Io, "cannot carry the link '" + from + "' over to the new folder: " + errno_text());
  }
  // Sockets, pipes and devices have no content to keep.
}

// Every entry of `from` except the files the save writes (and stale temporaries of those) into `to`.
void carry_over(const std::string& from, const std::string& to, const std::vector<FileToWrite>& written) {
  for (const std::string& name : folder_entries(from)) {
    bool replaced = false;
    for (const FileToWrite& file : written)
      replaced = replaced || name == file.name || is_stale_temporary(name, file.name);
    if (!replaced) carry_entry(join_path(from, name), join_path(to, name));
  }
}

// --- swapping the new folder in

// The target folder cannot be replaced by a rename (it is a mount point, or its parent may not be
// written): the save falls back to writing each file atomically inside it.
struct CannotSwap {};

// Replaces `destination` (the entry `name` of `folder`) atomically: removes dead writers'
// temporaries of that name, writes a new temporary beside it and renames it over. `shown` is the
// path error messages name. The caller holds the folder's lock and flushes the folder.
void replace_file(const std::string& folder, const std::string& name, const std::string& destination,
                  const std::string& shown, const void* bytes, std::size_t size) {
  remove_stale_temporaries(folder, name);
  const std::string temporary = join_path(folder, temporary_name(name, "tmp", /*hidden=*/false));
  write_new_file(temporary, bytes, size);
  if (::rename(temporary.c_str(), destination.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    fail(ErrorKind::Io, "cannot replace '" + shown + "': " + reason);
  }
}

void write_files_in_place(const Target& target, const std::vector<FileToWrite>& files) {
  for (const FileToWrite& file : files) {
    const std::string path = join_path(target.path, file.name);
    replace_file(target.path, file.name, path, path, file.bytes.data(), file.bytes.size());
  }
  flush_folder(target.path);
}

int exchange(const std::string& a, const std::string& b) {
#ifdef SYS_renameat2
  constexpr unsigned kRenameExchange = 1u << 1;  // RENAME_EXCHANGE of <linux/fs.h>
  return static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), kRenameExchange));
#else
  errno = ENOSYS;
  return -1;
#endif
}

bool exchange_unsupported(int error) { return error == EINVAL || error == ENOSYS || error == EOPNOTSUPP; }

// A writer that died between the two renames of a save without RENAME_EXCHANGE left no folder and
// the complete previous one under an .old- name: put it back before saving, so its extra files stay.
void restore_orphaned_folder(const Target& target) {
  std::vector<std::string> names;
  try {
    names = folder_entries(target.parent);
  } catch (const Error&) {
    return;
  }
  for (const std::string& name : names)
    if (writer_is_gone(temporary_writer(name, target.name, "old")) &&
        ::rename(join_path(target.parent, name).c_str(), target.path.c_str()) == 0)
      return;
}

// Without RENAME_EXCHANGE: current folder -> .old- name, new folder -> target. Returns the path
// holding the old contents, or "" when the target vanished meanwhile (the caller retries).
std::string replace_in_two_renames(const std::string& temporary, const Target& target, const std::string& folder) {
  const std::string backup = join_path(target.parent, temporary_name(target.name, "old", /*hidden=*/true));
  if (::rename(target.path.c_str(), backup.c_str()) != 0) {
    if (errno == ENOENT) return "";
    fail(ErrorKind::Io, "cannot move '" + folder + "' aside: " + errno_text());
  }
  if (::rename(temporary.c_str(), target.path.c_str()) != 0) {
    const int error = errno;
    // Put the previous folder back. If even that fails (something other than a save took the name:
    // saves take turns), keep it under a visible name no cleanup ever removes, and say where.
    if (::rename(backup.c_str(), target.path.c_str()) != 0) {
      const std::string kept = join_path(target.parent, temporary_name(target.name, "kept", /*hidden=*/false));
      const std::string where = ::rename(backup.c_str(), kept.c_str()) == 0 ? kept : backup;
      fail(ErrorKind::Io,
           "cannot replace '" + folder + "': " + errno_text(error) + "; its previous contents are in '" + where + "'");
    }
    if (error == EEXIST || error == ENOTEMPTY) return "";
    fail(ErrorKind::Io, "cannot replace '" + folder + "': " + errno_text(error));
  }
  return backup;
}

// Puts the complete folder `temporary` in place of the target. Returns the path that now holds the
// target's previous contents ("" when there were none).
std::string swap_into_place(const std::string& temporary, const Target& target, const std::string& folder) {
  for (int attempt = 0; attempt < 16; ++attempt) {  // retried only while other writers race us
    struct stat info;
    if (::lstat(target.path.c_str(), &info) == 0) {
      if (exchange(temporary, target.path) == 0) return temporary;
      const int error = errno;
      if (error == ENOENT) continue;
      if (error == EBUSY || error == EXDEV) throw CannotSwap();  // a mount point: it cannot be renamed
      if (!exchange_unsupported(error)) fail(ErrorKind::Io, "cannot replace '" + folder + "': " + errno_text(error));
      std::string old_contents = replace_in_two_renames(temporary, target, folder);
      if (!old_contents.empty()) return old_contents;
    } else {
      if (::rename(temporary.c_str(), target.path.c_str()) == 0) return "";
      const int error = errno;
      if (error != EEXIST && error != ENOTEMPTY)
        fail(ErrorKind::Io, "cannot create '" + folder + "': " + errno_text(error));
    }
  }
  fail(ErrorKind::Io, "cannot replace '" + folder + "': other writers kept replacing it");
}
}  // namespace

std::string read_file(const std::string& path) {
  if (!is_regular_file(path)) fail(ErrorKind::NotFound, "file not found: '" + path + "'");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open '" + path + "': " + errno_text());
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) fail(ErrorKind::Io, "cannot read '" + path + "'");
  return content.str();
}

void write_file_atomically(const std::string& path, const void* bytes, std::size_t size) {
  const Target target = target_of(path, /*follow_symlink=*/false);
  ParentLock lock(target.parent);
  replace_file(target.parent, target.name, target.path, path, bytes, size);
  flush_folder(target.parent);  // makes the rename itself durable
}

void write_folder_atomically(const std::string& folder, const std::vector<FileToWrite>& files) {
  const Target target = target_of(folder, /*follow_symlink=*/true);
  make_directories(target.parent);
  ParentLock lock(target.parent);
  struct stat current;
  bool exists = ::lstat(target.path.c_str(), &current) == 0;
  if (!exists) {
    restore_orphaned_folder(target);
    exists = ::lstat(target.path.c_str(), &current) == 0;
  }
  if (exists && !S_ISDIR(current.st_mode))
    fail(ErrorKind::Io, "cannot save into '" + folder + "': it exists and is not a folder");
  remove_stale_temporaries(target.parent, target.name);

  const std::string temporary = join_path(target.parent, temporary_name(target.name, "tmp", /*hidden=*/true));
  if (::mkdir(temporary.c_str(), 0777) != 0) {
    if (exists && (errno == EACCES || errno == EPERM || errno == EROFS)) return write_files_in_place(target, files);
    fail(ErrorKind::Io, "cannot create '" + temporary + "': " + errno_text());
  }
  std::string old_contents;
  try {
    for (const FileToWrite& file : files)
      write_new_file(join_path(temporary, file.name), file.bytes.data(), file.bytes.size());
    if (exists) {
      carry_over(target.path, temporary, files);
      ::chmod(temporary.c_str(), current.st_mode & 07777);
    }
    flush_folder(temporary);
    old_contents = swap_into_place(temporary, target, folder);
  } catch (const CannotSwap&) {
    remove_quietly(temporary);
    return write_files_in_place(target, files);
  } catch (...) {
    remove_quietly(temporary);
    throw;
  }
  flush_folder(target.parent);
  if (!old_contents.empty()) remove_quietly(old_contents);
}

HeldFolder::HeldFolder(const std::string& folder)
    : folder_(folder), fd_(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}

HeldFolder::~HeldFolder() {
  if (fd_ >= 0) ::close(fd_);
}

bool HeldFolder::still_in_place() const {
  struct stat now, held;
  const bool exists = ::stat(folder_.c_str(), &now) == 0;
  if (fd_ < 0) return !exists;
  return exists && ::fstat(fd_, &held) == 0 && now.st_dev == held.st_dev && now.st_ino == held.st_ino;
}

// These four use POSIX calls too (see remove_quietly): the torch wheel's libraries export their
// own std::filesystem, which takes precedence over the C++ library's in this process.
bool is_directory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

void make_directories(const std::string& path) {
  if (path.empty() || is_directory(path)) return;
  const std::size_t slash = path.find_last_of('/', path.find_last_not_of('/'));
  if (slash != std::string::npos && slash > 0) make_directories(path.substr(0, slash));
  if (::mkdir(path.c_str(), 0755) != 0 && !(errno == EEXIST && is_directory(path)))
    fail(ErrorKind::Io, "cannot create folder '" + path + "': " + std::strerror(errno));
}

std::string absolute_path(const std::string& path) {
  std::string joined = path;
  if (path.empty() || path[0] != '/') {
    std::vector<char> cwd(4096);
    while (::getcwd(cwd.data(), cwd.size()) == nullptr) {
      if (errno != ERANGE)
        fail(ErrorKind::Io, std::string("cannot read the working directory: ") + std::strerror(errno));
      cwd.resize(cwd.size() * 2);
    }
    joined = std::string(cwd.data()) + "/" + path;
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= joined.size()) {
    const std::size_t end = std::min(joined.find('/', start), joined.size());
    const std::string part = joined.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string normalised;
  for (const auto& part : parts) normalised += "/" + part;
  return normalised.empty() ? "/" : normalised;
}

std::string join_path(const std::string& folder, const std::string& name) {
  if (folder.empty() || (!name.empty() && name[0] == '/')) return name;
  return folder.back() == '/' ? folder + name : folder + "/" + name;
}

}  // namespace sp::io
