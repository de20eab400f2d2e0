#include "objectives/task.h"

namespace sp::objectives {

namespace {
struct TaskName {
  sp_task_type type;
  const char* name;
};
constexpr TaskName kTaskNames[] = {{SP_TASK_CAUSAL_LM, "CAUSAL_LM"},
                                   {SP_TASK_SEQ_CLS, "SEQ_CLS"},
                                   {SP_TASK_TOKEN_CLS, "TOKEN_CLS"},
                                   {SP_TASK_SEQ_2_SEQ_LM, "SEQ_2_SEQ_LM"},
                                   {SP_TASK_FEATURE_EXTRACTION, "FEATURE_EXTRACTION"}};
}  // namespace

const char* task_name(sp_task_type type) {
  for (const auto& entry : kTaskNames)
    if (entry.type == type) return entry.name;
  return nullptr;
}

bool task_from_name(const std::string& name, sp_task_type& type) {
  for (const auto& entry : kTaskNames)
    if (name == entry.name) {
      type = entry.type;
      return true;
    }
  return false;
}

std::string task_names() {
  std::string list;
  for (const auto& entry : kTaskNames) list += (list.empty() ? "" : ", ") + std::string(entry.name);
  return list;
}

}  // namespace sp::objectives
