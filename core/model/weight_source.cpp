// A Hugging Face model folder as a WeightSource; open_weight_source tells folders from GGUF files.
#include <algorithm>

#include "io/file_util.h"
#include "io/gguf.h"
#include "io/torch_tensors.h"
#include "io/weight_store.h"
#include "model/weight_source.h"
#include "util/errors.h"
#include "util/fingerprint.h"

namespace sp::model {

namespace {

class FolderSource final : public WeightSource {
 public:
  explicit FolderSource(const std::string& folder)
      : folder_(folder), config_path_(io::join_path(folder, "config.json")) {
    config_json_ = io::read_file(config_path_);
    store_ = io::WeightStore::open_folder(folder_);
  }

  std::string description() const override { return "model folder '" + folder_ + "'"; }
  const std::string& config_json() const override { return config_json_; }
  std::string config_name() const override { return config_path_; }

  std::optional<Entry> find(const std::string& name) const override {
    const io::TensorView* view = store_.find(name);
    if (!view) return std::nullopt;
    return Entry{view->shape, at::isFloatingType(io::to_scalar_type(view->dtype))};
  }

  at::Tensor read(const std::string& name) const override {
    return io::tensor_from_view(*store_.find(name), store_.file_of(name));
  }

  // dtype, shape and 64 evenly spaced rows, as stored (the record of single files before version 2).
  std::string stored_bytes_fingerprint(const std::string& name) const override {
    const io::TensorView* view = store_.find(name);
    Fingerprint print;
    print.add(io::dtype_name(view->dtype));
    for (int64_t dim : view->shape) print.add(&dim, sizeof dim);
    const int64_t rows = view->shape.empty() ? 1 : view->shape[0];
    const int64_t row_bytes = static_cast<int64_t>(view->nbytes) / std::max<int64_t>(rows, 1);
    const int64_t samples = std::min<int64_t>(rows, 64);
    for (int64_t i = 0; i < samples; ++i) {
      const int64_t row = samples > 1 ? i * (rows - 1) / (samples - 1) : 0;
      print.add(view->data + row * row_bytes, static_cast<std::size_t>(row_bytes));
    }
    return print.hex();
  }

  std::string weight_text(const std::string& name) const override { return "weight '" + name + "'"; }
  void check_unused(const std::set<std::string>&) const override {}

 private:
  std::string folder_, config_path_, config_json_;
  io::WeightStore store_;
};

}  // namespace

std::unique_ptr<WeightSource> open_weight_source(const std::string& path) {
  if (io::is_regular_file(path) && io::GgufFile::has_magic(path)) return open_gguf_source(path);
  if (io::is_regular_file(path))
    fail(ErrorKind::NotFound, "'" + path + "' is neither a model folder nor a GGUF file (no GGUF magic)");
  if (!io::is_directory(path)) {
    const std::string gguf = ".gguf";  // a file was meant: "folder not found" would mislead
    const bool file_name =
        path.size() >= gguf.size() && path.compare(path.size() - gguf.size(), gguf.size(), gguf) == 0;
    fail(ErrorKind::NotFound, (file_name ? "no such file or folder: '" : "model folder not found: '") + path + "'");
  }
  return std::make_unique<FolderSource>(path);
}

}  // namespace sp::model
