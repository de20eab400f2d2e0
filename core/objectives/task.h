// What an adapter is trained for (PEFT's task_type) and the size of its classification head. The
// task decides what a forward pass produces and which loss trains it; the method does not care.
#pragma once

#include <cstdint>
#include <string>

#include "softprompt/softprompt.h"

namespace sp::objectives {

constexpr int64_t kMaxLabels = int64_t{1} << 20;

struct TaskConfig {
  sp_task_type type = SP_TASK_CAUSAL_LM;
  int64_t num_labels = 0;  // SEQ_CLS and TOKEN_CLS: classes of the head; 0 otherwise

  bool classifies() const { return type == SP_TASK_SEQ_CLS || type == SP_TASK_TOKEN_CLS; }
};

// PEFT's TaskType name ("CAUSAL_LM", "SEQ_CLS", ...); nullptr for a value outside the enum.
const char* task_name(sp_task_type type);
// The task of a PEFT name; false when the name is none of the five.
bool task_from_name(const std::string& name, sp_task_type& type);
// "CAUSAL_LM, SEQ_CLS, TOKEN_CLS, SEQ_2_SEQ_LM, FEATURE_EXTRACTION", for messages.
std::string task_names();

}  // namespace sp::objectives
