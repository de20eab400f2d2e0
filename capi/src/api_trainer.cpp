// Entry points: trainers.
#include <cstring>
#include <string>

#include "batch_check.h"
#include "guard.h"
#include "handles.h"
#include "params.h"

using namespace sp;
using namespace sp::capi;

extern "C" {

sp_trainer_params sp_trainer_default_params(void) noexcept {
  sp_trainer_params params = sized<sp_trainer_params>();
  params.learning_rate = 3e-2;
  params.beta1 = 0.9;
  params.beta2 = 0.999;
  params.eps = 1e-8;
  params.weight_decay = 0.01;
  params.max_grad_norm = 0;
  params.warmup_steps = 0;
  params.total_steps = 0;
  params.accumulation_steps = 1;
  return params;
}

sp_train_result sp_train_result_init(void) noexcept { return sized<sp_train_result>(); }

sp_status sp_trainer_create(sp_trainer** out, sp_adapter* adapter, const sp_trainer_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_adapter = checked(adapter, "adapter");
    const sp_trainer_params settings = read_params(params, sp_trainer_default_params(), "sp_trainer_params");
    publish(out, engine::Trainer::create(core_adapter, settings), HandleKind::Trainer);
  });
}

void sp_trainer_free(sp_trainer* trainer) noexcept { free_handle(trainer, HandleKind::Trainer); }

sp_status sp_trainer_step(sp_trainer* trainer, const sp_batch* batch, sp_train_result* result) noexcept {
  return guard([&] {
    const auto core = checked(trainer, "trainer");
    const engine::HostBatch host = checked_adapter_batch(batch, core->adapter());
    if (result)
      require(result->struct_size >= sizeof(size_t), "result->struct_size must be set to sizeof(sp_train_result)");
    const engine::TrainStepResult step = core->step(host);
    if (result) {
      sp_train_result full = sized<sp_train_result>();
      full.loss = static_cast<float>(step.loss);
      full.updated = step.updated ? 1 : 0;
      full.grad_norm = static_cast<float>(step.grad_norm);
      full.learning_rate = static_cast<float>(step.learning_rate);
      full.updates_done = step.updates_done;
      write_result(result, full, "sp_train_result");
    }
  });
}

sp_status sp_trainer_get_gradient(const sp_trainer* trainer, const char* name, float* out, size_t count) noexcept {
  return guard([&] {
    const auto core = checked(trainer, "trainer");
    require_not_null(name, "name");
    require_not_null(out, "out");
    core->copy_gradient(name, out, count);
  });
}

sp_status sp_trainer_save_state(const sp_trainer* trainer, const char* path, const void* user_state,
                                size_t user_state_size) noexcept {
  return guard([&] {
    const auto core = checked(trainer, "trainer");
    require_not_null(path, "path");
    require(path[0] != '\0', "path must not be empty");
    require(user_state || user_state_size == 0, "user_state is NULL but user_state_size is not 0");
    core->save_state(path, user_state, user_state_size);
  });
}

sp_status sp_trainer_load_state(sp_trainer* trainer, const char* path, void* user_state, size_t capacity,
                                size_t* user_state_size) noexcept {
  return guard([&] {
    const auto core = checked(trainer, "trainer");
    require_not_null(path, "path");
    require(path[0] != '\0', "path must not be empty");
    require(user_state || capacity == 0, "user_state is NULL but capacity is not 0");
    core->load_state(path, [&](const std::string& saved) {
      if (user_state_size) *user_state_size = saved.size();
      if (capacity < saved.size())
        fail(ErrorKind::BufferTooSmall, "the saved user state is " + std::to_string(saved.size()) +
                                            " bytes; capacity is " + std::to_string(capacity));
      if (!saved.empty()) std::memcpy(user_state, saved.data(), saved.size());
    });
  });
}

}  // extern "C"
