#include "train/trainer_state.h"

#include <ATen/core/Generator.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "io/dtype.h"
#include "methods/registry.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::train {

const adapters::ContainerKind kTrainerStateKind = {
    {'\x89', 'S', 'P', 'T', '\r', '\n', '\x1a', '\n'}, 1, 1, "trainer state"};

namespace {

constexpr const char* kTrainerKey = "softprompt.trainer";
// Tensor names of the trainer's part of the payload; every other tensor is an adapter tensor.
const std::string kTrainerPrefix = "trainer.";
const std::string kExpAvg = "trainer.exp_avg.";
const std::string kExpAvgSq = "trainer.exp_avg_sq.";
const std::string kGradient = "trainer.grad.";
const std::string kRandomState = "trainer.random_state";
const std::string kUserState = "trainer.user_state";
// Counters far beyond any run, yet far from overflowing when incremented.
constexpr int64_t kMaxCounter = int64_t(1) << 62;

nlohmann::json params_json(const TrainerConfig& c) {
  return {{"learning_rate", c.schedule.base_lr},
          {"beta1", c.adamw.beta1},
          {"beta2", c.adamw.beta2},
          {"eps", c.adamw.eps},
          {"weight_decay", c.adamw.weight_decay},
          {"max_grad_norm", c.max_grad_norm},
          {"warmup_steps", c.schedule.warmup_steps},
          {"total_steps", c.schedule.total_steps},
          {"accumulation_steps", c.accumulation_steps}};
}

double required_number(const JsonReader& json, const std::string& key) {
  if (!json.has(key)) json.format_error("lacks \"" + key + "\"");
  return json.number(key, 0);
}

TrainerConfig params_from_json(const JsonReader& json) {
  TrainerConfig c;
  c.schedule.base_lr = required_number(json, "learning_rate");
  c.adamw.beta1 = required_number(json, "beta1");
  c.adamw.beta2 = required_number(json, "beta2");
  c.adamw.eps = required_number(json, "eps");
  c.adamw.weight_decay = required_number(json, "weight_decay");
  c.max_grad_norm = required_number(json, "max_grad_norm");
  c.schedule.warmup_steps = json.integer("warmup_steps");
  c.schedule.total_steps = json.integer("total_steps");
  c.accumulation_steps = json.integer("accumulation_steps");
  try {
    validate(c);
  } catch (const Error& error) {
    json.format_error(error.what());
  }
  return c;
}

int64_t counter(const JsonReader& json, const std::string& key, int64_t max) {
  const int64_t value = json.integer(key);
  if (value < 0 || value > max)
    json.format_error("\"" + key + "\" must be in [0, " + std::to_string(max) + "], got " + std::to_string(value));
  return value;
}

// The trainer record, checked on its own: what it says the payload must hold.
struct TrainerRecord {
  nlohmann::json json;
  TrainerConfig config;
  int64_t updates_done = 0, micro_steps = 0;
  uint64_t user_state_size = 0;
  bool random_state = false;
};

TrainerRecord read_record(const adapters::ContainerReader& reader) {
  TrainerRecord record;
  record.json = reader.record(kTrainerKey);
  const JsonReader json(record.json, reader.source() + ", record " + kTrainerKey);
  const nlohmann::json* params = json.object("params");
  if (!params) json.format_error("lacks \"params\"");
  record.config = params_from_json(JsonReader(*params, json.source() + ", params"));
  record.updates_done = counter(json, "updates_done", kMaxCounter);
  record.micro_steps = counter(json, "micro_steps", kMaxCounter);
  record.user_state_size = static_cast<uint64_t>(counter(json, "user_state_size", kMaxUserStateBytes));
  if (!json.present("random_state") || !record.json["random_state"].is_boolean())
    json.format_error("\"random_state\" must be true or false");
  record.random_state = record.json["random_state"].get<bool>();
  const nlohmann::json* steps = json.object("parameter_steps");
  if (!steps) json.format_error("lacks \"parameter_steps\"");
  return record;
}

// Each trainable tensor's step count (PyTorch's per-parameter "step"), at most the update count.
std::vector<int64_t> parameter_steps(const TrainerRecord& record, const std::vector<std::string>& names,
                                     const std::string& source) {
  const JsonReader steps(record.json["parameter_steps"], source + ", record " + kTrainerKey + ", parameter_steps");
  if (record.json["parameter_steps"].size() != names.size())
    steps.format_error("holds " + std::to_string(record.json["parameter_steps"].size()) + " entries for " +
                       std::to_string(names.size()) + " trainable tensors");
  std::vector<int64_t> result;
  for (const std::string& name : names) result.push_back(counter(steps, name, record.updates_done));
  return result;
}

const io::TensorView* find_view(const io::SafetensorsHeader& header, const std::string& name) {
  for (const auto& view : header.tensors)
    if (view.name == name) return &view;
  return nullptr;
}

// Every tensor of the trainer's part is one the record and the adapter call for, with its exact
// dtype and shape; the data section therefore holds nothing the adapter does not justify.
void check_trainer_tensors(const adapters::ContainerReader& reader, const TrainerRecord& record,
                           const methods::NamedTensors& parameters, int64_t random_state_bytes) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> allowed;  // name, shape (F32 unless U8 below)
  for (const auto& [name, tensor] : parameters)
    for (const std::string& prefix : {kExpAvg, kExpAvgSq, kGradient})
      allowed.push_back({prefix + name, tensor.sizes().vec()});
  const auto& header = reader.header();
  for (const auto& view : header.tensors) {
    if (view.name.compare(0, kTrainerPrefix.size(), kTrainerPrefix) != 0) continue;
    std::vector<int64_t> shape;
    io::DType dtype = io::DType::F32;
    if (view.name == kRandomState || view.name == kUserState) {
      dtype = io::DType::U8;
      shape = {view.name == kRandomState ? random_state_bytes : static_cast<int64_t>(record.user_state_size)};
      if (view.name == kRandomState && !record.random_state)
        reader.corrupt("tensor \"" + view.name + "\" is not announced by the record " + kTrainerKey);
    } else {
      bool known = false;
      for (const auto& entry : allowed)
        if (entry.first == view.name) known = true, shape = entry.second;
      if (!known) reader.corrupt("tensor \"" + view.name + "\" is not part of a trainer state for this adapter");
    }
    if (view.dtype != dtype || view.shape != shape)
      reader.corrupt("tensor \"" + view.name + "\" must be " +
                     (dtype == io::DType::U8 ? "U8 of " + std::to_string(shape[0]) + " bytes"
                                             : std::string("F32 in its trainable tensor's shape")));
  }
  for (const auto& [name, tensor] : parameters)
    for (const std::string& prefix : {kExpAvg, kExpAvgSq})
      if (!find_view(header, prefix + name)) reader.corrupt("tensor \"" + prefix + name + "\" is missing");
  if (record.random_state && !find_view(header, kRandomState))
    reader.corrupt("tensor \"" + kRandomState + "\" is missing");
  if (record.user_state_size > 0 && !find_view(header, kUserState))
    reader.corrupt("tensor \"" + kUserState + "\" is missing");
}

// The adapter the state is loaded into must be the one it was saved from, in kind and size.
void check_same_adapter(const adapters::ContainerReader::MethodRecord& saved, const methods::SoftPromptMethod& method,
                        const std::string& source) {
  auto mismatch = [&](const std::string& what) {
    fail(ErrorKind::ShapeMismatch, source + " was saved from another adapter: " + what);
  };
  if (saved.config.method() != method.method())
    mismatch(std::string("its method is ") + methods::method_row(saved.config.method()).peft_type +
             ", this adapter's is " + methods::method_row(method.method()).peft_type);
  if (saved.config.encoded_only != method.config().encoded_only)
    mismatch(saved.config.encoded_only ? "it holds only an encoded table, this adapter has its encoder"
                                       : "it has an encoder, this adapter holds only an encoded table");
  const methods::NamedTensors parameters = method.parameters();
  if (saved.expected.size() != parameters.size())
    mismatch("it has " + std::to_string(saved.expected.size()) + " trainable tensors, this adapter " +
             std::to_string(parameters.size()));
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const auto& [name, tensor] = parameters[i];
    if (saved.expected[i].name != name)
      mismatch("its trainable tensor " + std::to_string(i) + " is \"" + saved.expected[i].name +
               "\", this adapter's \"" + name + "\"");
    if (saved.expected[i].shape() != tensor.sizes().vec())
      mismatch("tensor \"" + name + "\" has another shape (another num_virtual_tokens, encoder or task size)");
  }
}

at::Tensor on_device(const methods::NamedTensors& values, const std::string& name, const at::Tensor& like) {
  for (const auto& entry : values)
    if (entry.first == name) return entry.second.to(like.device(), at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  return at::Tensor();
}

}  // namespace

void save_trainer_state(const std::string& path, const Trainer& trainer, const methods::SoftPromptMethod& method,
                        const model::Transformer& model, const void* user_state, std::size_t user_state_size) {
  if (user_state_size > kMaxUserStateBytes)
    fail(ErrorKind::InvalidArgument, "user_state_size " + std::to_string(user_state_size) + " exceeds the limit of " +
                                         std::to_string(kMaxUserStateBytes) + " bytes");
  at::NoGradGuard no_grad;
  const AdamWState optimizer = trainer.optimizer().state();
  methods::NamedTensors tensors = method.parameters();
  nlohmann::json steps = nlohmann::json::object();
  const methods::NamedTensors& parameters = trainer.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const auto& [name, parameter] = parameters[i];
    tensors.emplace_back(kExpAvg + name, optimizer.exp_avg[i]);
    tensors.emplace_back(kExpAvgSq + name, optimizer.exp_avg_sq[i]);
    if (parameter.grad().defined()) tensors.emplace_back(kGradient + name, parameter.grad());
    steps[name] = optimizer.steps[i];
  }
  at::Generator generator = method.training_generator();
  if (generator.defined()) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    tensors.emplace_back(kRandomState, generator.get_state());
  }
  if (user_state_size > 0)
    tensors.emplace_back(
        kUserState, at::from_blob(const_cast<void*>(user_state), {static_cast<int64_t>(user_state_size)}, at::kByte));
  nlohmann::json record = {{"params", params_json(trainer.config())}, {"updates_done", optimizer.steps_taken},
                           {"micro_steps", trainer.micro_steps()},    {"parameter_steps", steps},
                           {"random_state", generator.defined()},     {"user_state_size", user_state_size}};
  std::map<std::string, std::string> records = adapters::adapter_records(method, model);
  records[kTrainerKey] = record.dump();
  adapters::write_container(path, kTrainerStateKind, tensors, records);
}

LoadedTrainerState read_trainer_state(const std::string& path, const methods::SoftPromptMethod& method,
                                      const model::Transformer& model) {
  adapters::ContainerReader reader(path, kTrainerStateKind);
  const adapters::ContainerReader::MethodRecord saved = reader.method_record(model);
  check_same_adapter(saved, method, reader.source());
  const TrainerRecord record = read_record(reader);
  const methods::NamedTensors parameters = method.parameters();
  std::vector<std::string> names;
  for (const auto& entry : parameters) names.push_back(entry.first);
  std::vector<int64_t> steps = parameter_steps(record, names, reader.source());

  at::Generator generator = method.training_generator();
  if (record.random_state != generator.defined())
    reader.corrupt(record.random_state ? "it holds a random state this adapter's method has no use for"
                                       : "it lacks the random state this adapter's method draws from");
  int64_t random_state_bytes = 0;
  if (generator.defined()) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    random_state_bytes = generator.get_state().numel();
  }
  reader.check_adapter_tensors(saved.expected, kTrainerPrefix);
  check_trainer_tensors(reader, record, parameters, random_state_bytes);

  const methods::NamedTensors values = reader.read_tensors();
  LoadedTrainerState state;
  state.config = record.config;
  state.micro_steps = record.micro_steps;
  state.optimizer.steps = std::move(steps);
  state.optimizer.steps_taken = record.updates_done;
  for (const auto& [name, parameter] : parameters) {
    state.values.push_back(on_device(values, name, parameter));
    state.optimizer.exp_avg.push_back(on_device(values, kExpAvg + name, parameter));
    state.optimizer.exp_avg_sq.push_back(on_device(values, kExpAvgSq + name, parameter));
    state.gradients.push_back(on_device(values, kGradient + name, parameter));
  }
  for (const auto& [name, tensor] : values) {
    if (name == kRandomState) state.random_state = tensor.clone();
    if (name == kUserState)
      state.user_state.assign(static_cast<const char*>(tensor.data_ptr()), static_cast<std::size_t>(tensor.numel()));
  }
  return state;
}

std::unique_ptr<Trainer> resume_trainer(LoadedTrainerState state, std::shared_ptr<const model::Transformer> model,
                                        methods::SoftPromptMethod& method) {
  auto trainer = std::make_unique<Trainer>(std::move(model), method, state.config);
  trainer->resume(std::move(state.optimizer), state.micro_steps);
  // From here on nothing allocates: same-shaped copies and handle assignments.
  at::NoGradGuard no_grad;
  const methods::NamedTensors& parameters = trainer->parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    at::Tensor parameter = parameters[i].second;
    parameter.copy_(state.values[i]);
    parameter.mutable_grad() = state.gradients[i];
  }
  if (state.random_state.defined()) {
    at::Generator generator = method.training_generator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state.random_state);
  }
  return trainer;
}

nlohmann::json trainer_record_for_description(const adapters::ContainerReader& reader) {
  const TrainerRecord record = read_record(reader);
  std::vector<std::string> names;
  for (auto it = record.json["parameter_steps"].begin(); it != record.json["parameter_steps"].end(); ++it)
    names.push_back(it.key());
  parameter_steps(record, names, reader.source());
  return record.json;
}

}  // namespace sp::train
