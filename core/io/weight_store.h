// The weights of a Hugging Face model folder: one `model.safetensors`, or the shards listed by
// `model.safetensors.index.json`. Files stay memory-mapped while the store lives.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace sp::io {

class WeightStore {
 public:
  // Throws NotFound when the folder has neither file, Format when the index or a shard is malformed.
  static WeightStore open_folder(const std::string& folder);

  // nullptr when no file holds a tensor of that name.
  const TensorView* find(const std::string& name) const;
  // The file that holds `name` (kept alive by the store); nullptr when absent.
  std::shared_ptr<const SafetensorsFile> file_of(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, std::size_t> index_;  // tensor name -> position in files_
};

}  // namespace sp::io
