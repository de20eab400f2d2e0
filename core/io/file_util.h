// Small filesystem helpers shared by every reader and writer.
#pragma once

#include <cstddef>
#include <string>

namespace sp::io {

// Whole file as bytes. Throws NotFound when the file is missing, Io on other failures.
std::string read_file(const std::string& path);

// Writes `bytes` so that `path` holds either its old content or the new one, never a mix:
// the data goes to a temporary file in the same folder, is flushed to disk, then renamed over `path`.
// A crash at any moment leaves the previous file intact (and at worst a stray temporary file).
void write_file_atomically(const std::string& path, const void* bytes, std::size_t size);
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, bytes.data(), bytes.size());
}

bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
// Creates the folder (and missing parents); succeeds when it already exists.
void make_directories(const std::string& path);
std::string join_path(const std::string& folder, const std::string& name);

}  // namespace sp::io
