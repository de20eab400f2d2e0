#include "io/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "util/errors.h"

namespace sp::io {

namespace {
std::string errno_text() { return std::strerror(errno); }

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

std::string temporary_name_for(const std::string& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream name;
  name << path << ".tmp-" << ::getpid() << "-" << std::hex << rng();
  return name.str();
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
  const std::string temporary = temporary_name_for(path);
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorKind::Io, "cannot create '" + temporary + "': " + errno_text());
  try {
    write_all(fd, static_cast<const char*>(bytes), size, temporary);
    if (::fsync(fd) != 0) fail(ErrorKind::Io, "cannot flush '" + temporary + "': " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(temporary.c_str());
    fail(ErrorKind::Io, "cannot close '" + temporary + "': " + errno_text());
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string reason = errno_text();
    ::unlink(temporary.c_str());
    fail(ErrorKind::Io, "cannot replace '" + path + "': " + reason);
  }
  // Make the rename itself durable: flush the folder entry.
  std::string folder = std::filesystem::path(path).parent_path().string();
  int dir_fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

bool is_directory(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::is_directory(path, ignored);
}

bool is_regular_file(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
}

void make_directories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error && !is_directory(path))
    fail(ErrorKind::Io, "cannot create folder '" + path + "': " + error.message());
}

std::string join_path(const std::string& folder, const std::string& name) {
  return (std::filesystem::path(folder) / name).string();
}

}  // namespace sp::io
