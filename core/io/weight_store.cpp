#include "io/weight_store.h"

#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "util/errors.h"

namespace sp::io {

namespace {
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
}  // namespace

WeightStore WeightStore::open_folder(const std::string& folder) {
  if (!is_directory(folder)) fail(ErrorKind::NotFound, "model folder not found: '" + folder + "'");
  WeightStore store;
  auto add_file = [&store](const std::string& path) {
    store.files_.push_back(SafetensorsFile::open(path));
    return store.files_.size() - 1;
  };

  const std::string index_path = join_path(folder, kIndexFile);
  if (is_regular_file(index_path)) {
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(read_file(index_path));
    } catch (const nlohmann::json::exception& error) {
      fail(ErrorKind::Format, "malformed '" + index_path + "': " + error.what());
    }
    auto map_it = index.find("weight_map");
    if (!index.is_object() || map_it == index.end() || !map_it->is_object())
      fail(ErrorKind::Format, "malformed '" + index_path + "': no \"weight_map\" object");
    std::map<std::string, std::size_t> shard_positions;
    for (auto entry = map_it->begin(); entry != map_it->end(); ++entry) {
      if (!entry.value().is_string())
        fail(ErrorKind::Format, "malformed '" + index_path + "': shard of '" + entry.key() + "' is not a string");
      const std::string shard = entry.value().get<std::string>();
      if (shard.find('/') != std::string::npos || shard == "..")
        fail(ErrorKind::Format, "malformed '" + index_path + "': shard name '" + shard + "' leaves the folder");
      auto known = shard_positions.find(shard);
      std::size_t position = known != shard_positions.end()
                                 ? known->second
                                 : (shard_positions[shard] = add_file(join_path(folder, shard)));
      if (!store.files_[position]->find(entry.key()))
        fail(ErrorKind::Format,
             "'" + index_path + "' places '" + entry.key() + "' in shard '" + shard + "', which does not contain it");
      store.index_[entry.key()] = position;
    }
    return store;
  }

  const std::string single_path = join_path(folder, kSingleFile);
  if (!is_regular_file(single_path))
    fail(ErrorKind::NotFound, "model folder '" + folder + "' has neither " + kSingleFile + " nor " + kIndexFile);
  std::size_t position = add_file(single_path);
  for (const auto& view : store.files_[position]->tensors()) store.index_[view.name] = position;
  return store;
}

const TensorView* WeightStore::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : files_[it->second]->find(name);
}

std::shared_ptr<const SafetensorsFile> WeightStore::file_of(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : files_[it->second];
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> result;
  for (const auto& entry : index_) result.push_back(entry.first);
  return result;
}

}  // namespace sp::io
