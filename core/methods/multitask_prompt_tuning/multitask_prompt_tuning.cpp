#include "methods/multitask_prompt_tuning/multitask_prompt_tuning.h"

#include "adapters/peft_files.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/torch_tensors.h"
#include "methods/init.h"
#include "methods/prompt_tuning/config.h"
#include "util/errors.h"
#include "util/shape_text.h"

namespace sp::methods {

namespace {
at::Tensor source_tensor(const io::SafetensorsFile& file, const std::string& name) {
  const io::TensorView* view = file.find(name);
  if (!view) fail(ErrorKind::Format, "MPT source '" + file.path() + "' has no tensor \"" + name + "\"");
  return io::tensor_from_view(*view, nullptr).to(at::kFloat).clone();
}

void expect_shape(const at::Tensor& tensor, at::IntArrayRef shape, const std::string& what) {
  if (tensor.sizes() != shape)
    fail(ErrorKind::ShapeMismatch, "MPT source " + what + " has shape " + shape_text(tensor.sizes()) +
                                       " but this adapter needs " + shape_text(shape));
}
}  // namespace

std::string resolved_source_adapter(const std::string& source_adapter, bool make_absolute) {
  if (source_adapter.empty()) return source_adapter;
  std::string path = source_adapter;
  if (io::is_directory(path)) path = io::join_path(path, adapters::kPeftWeightsFile);
  if (!make_absolute || !io::is_regular_file(path)) return path;  // a missing one is refused where it is read
  return io::absolute_path(path);  // links kept: PEFT picks its reader by the name's extension
}

MultitaskPromptTuning::MultitaskPromptTuning(const MethodConfig& config, const model::Transformer& model, bool loading)
    : SoftPromptMethod(config, model) {
  // A loaded record keeps its form (PEFT wrote it, or we did), except a folder, which PEFT cannot read.
  settings().source_adapter = resolved_source_adapter(settings().source_adapter, /*make_absolute=*/!loading);
  const int64_t T = config.total_virtual_tokens(), d = model.config().hidden_size;
  // PEFT's draw order: the table (RANDOM or TEXT), then cols, then rows, each factor N(0, 0.02^2).
  at::Generator& generator = generator_;
  at::Tensor table = initial_prompt_table(settings().prompt, model, T, generator, loading);
  at::Tensor cols =
      at::empty({settings().num_tasks, T, settings().num_ranks}, at::kFloat).normal_(0.0, 0.02, generator);
  at::Tensor rows =
      at::empty({settings().num_tasks, settings().num_ranks, d}, at::kFloat).normal_(0.0, 0.02, generator);
  table_ = trainable(table, model.device());
  cols_ = trainable(cols, model.device());
  rows_ = trainable(rows, model.device());
  if (is_source_init(settings().prompt.init) && !loading) initialise_from_source();
}

void MultitaskPromptTuning::initialise_from_source() {
  const MultitaskPromptTuningSettings& s = settings();
  const sp_prompt_init init = s.prompt.init;
  if (s.source_adapter.empty())
    fail(ErrorKind::InvalidArgument, std::string(prompt_init_name(init)) + " needs a source adapter path");
  const std::string& path = s.source_adapter;  // resolved by the constructor
  if (!io::is_regular_file(path)) fail(ErrorKind::NotFound, "MPT source adapter not found: '" + path + "'");
  auto file = io::SafetensorsFile::open(path);
  at::Tensor table = source_tensor(*file, "prompt_embeddings");
  expect_shape(table, table_.sizes(), "prompt_embeddings");
  at::Tensor cols, rows;
  if (init != SP_INIT_ONLY_SOURCE_SHARED) {
    // AVERAGE_SOURCE_TASKS and EXACT_SOURCE_TASK load strictly: the target has exactly one task.
    if (s.num_tasks != 1)
      fail(ErrorKind::InvalidArgument,
           std::string(prompt_init_name(init)) + " needs num_tasks = 1, got " + std::to_string(s.num_tasks));
    cols = source_tensor(*file, "prefix_task_cols");
    rows = source_tensor(*file, "prefix_task_rows");
    if (cols.dim() != 3 || rows.dim() != 3 || cols.size(0) != rows.size(0))
      fail(ErrorKind::Format, "MPT source '" + path + "' has inconsistent task factors");
    if (init == SP_INIT_AVERAGE_SOURCE_TASKS) {
      cols = cols.mean(0, true);
      rows = rows.mean(0, true);
    } else {
      if (s.source_task < 0 || s.source_task >= cols.size(0))
        fail(ErrorKind::OutOfRange, "source task " + std::to_string(s.source_task) + " is outside the source's " +
                                        std::to_string(cols.size(0)) + " tasks");
      cols = cols[s.source_task].unsqueeze(0);
      rows = rows[s.source_task].unsqueeze(0);
    }
    expect_shape(cols, cols_.sizes(), "prefix_task_cols");
    expect_shape(rows, rows_.sizes(), "prefix_task_rows");
  }
  at::NoGradGuard no_grad;
  table_.copy_(table);
  if (cols.defined()) {
    cols_.copy_(cols);
    rows_.copy_(rows);
  }
}

PromptContribution MultitaskPromptTuning::contribute(const PromptRequest& request) const {
  if (!request.task_ids.defined())
    fail(ErrorKind::InvalidArgument, "multitask prompt tuning needs task ids for every row");
  // Each task's prompt once (rows of the same task share it), then one per row.
  auto [tasks, task_of_row] = at::_unique(request.task_ids, /*sorted=*/true, /*return_inverse=*/true);
  at::Tensor task_cols = cols_.index_select(0, tasks);  // (K, T, r)
  at::Tensor task_rows = rows_.index_select(0, tasks);  // (K, r, d)
  PromptContribution contribution;
  const at::Tensor prompts = table_.unsqueeze(0) * at::matmul(task_cols, task_rows);  // (K, n * m, d)
  const int64_t n = config_.num_virtual_tokens;
  contribution.distinct_prompts = prompts.narrow(1, 0, n);
  // Seq2seq with m = 2: the second n rows go in front of the decoder's inputs (PEFT's forward).
  if (config_.num_transformer_submodules == 2)
    contribution.decoder_prepend_embeddings = prompts.narrow(1, n, n).index_select(0, task_of_row);
  contribution.prompt_of_row = task_of_row;
  contribution.prepend_embeddings = contribution.distinct_prompts.index_select(0, task_of_row);
  return contribution;
}

}  // namespace sp::methods
