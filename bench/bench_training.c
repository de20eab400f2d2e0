/*
 * bench_training: times softprompt's training step and forward pass (evaluation loss) for one
 * soft-prompt method through the public C API, and prints one JSON line: seconds per step, real
 * (non-padding) tokens per step, and memory. bench/compare_training.py runs it next to PEFT on the
 * same model, batches and threads, and prints the ratios.
 *
 *   bench_training <model folder or .gguf> <method> <batch> <seq_len> <virtual_tokens> <steps> <cpu|cuda>
 *                  <float32|bfloat16> <threads> [row lengths]
 *
 * method: prompt, prefix, prefix-projection, ptuning-mlp, ptuning-lstm or mpt (two tasks, row r
 * takes task r % 2). threads: 0 keeps the library's default. Row lengths (optional): a
 * comma-separated list of batch * k lengths; step i uses the i % k-th group of `batch` rows,
 * right-padded to the group's longest row, as a data collator pads (the mask marks the padding,
 * whose labels are -100). Without them every row has seq_len tokens and no mask.
 *
 * Memory, from sp_memory_get_stats on the model's device: the figure just before the training
 * steps (the loaded model; CPU: the process's resident set, CUDA: bytes in tensors) and its peak
 * during them (the peak is reset first, so the load's own peak does not count).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"

static int set_method(sp_adapter_params* params, const char* method) {
  if (strcmp(method, "prompt") == 0) {
    params->method = SP_METHOD_PROMPT_TUNING;
  } else if (strcmp(method, "prefix") == 0 || strcmp(method, "prefix-projection") == 0) {
    params->method = SP_METHOD_PREFIX_TUNING;
    params->prefix_projection = strcmp(method, "prefix-projection") == 0;
  } else if (strcmp(method, "ptuning-mlp") == 0 || strcmp(method, "ptuning-lstm") == 0) {
    params->method = SP_METHOD_P_TUNING;
    params->encoder_type = strcmp(method, "ptuning-lstm") == 0 ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  } else if (strcmp(method, "mpt") == 0) {
    params->method = SP_METHOD_MULTITASK_PROMPT_TUNING;
    params->num_tasks = 2;
  } else {
    return 0;
  }
  return 1;
}

/* The batches of the run: `groups` groups of batch_size rows, each padded to its longest row. */
typedef struct batches {
  int groups;
  sp_batch* batch;
  int32_t** buffers; /* ids, mask and labels of each group */
  long long real_tokens;
} batches;

static batches make_batches(int batch_size, int seq_len, const char* lengths_text, int64_t vocab_size, int mpt) {
  batches out = {0, NULL, NULL, 0};
  int count = 0;
  int* lengths = NULL;
  if (lengths_text) {
    char* copy = strdup(lengths_text);
    for (char* item = strtok(copy, ","); item; item = strtok(NULL, ",")) {
      lengths = realloc(lengths, (size_t)(count + 1) * sizeof *lengths);
      lengths[count++] = atoi(item);
    }
    free(copy);
    if (count == 0 || count % batch_size != 0) {
      fprintf(stderr, "row lengths: %d values, not a multiple of the batch size %d\n", count, batch_size);
      exit(2);
    }
  }
  out.groups = lengths ? count / batch_size : 1;
  out.batch = calloc((size_t)out.groups, sizeof *out.batch);
  out.buffers = calloc((size_t)out.groups * 4, sizeof *out.buffers);
  for (int group = 0; group < out.groups; ++group) {
    int width = seq_len;
    if (lengths) {
      width = 0;
      for (int row = 0; row < batch_size; ++row)
        if (lengths[group * batch_size + row] > width) width = lengths[group * batch_size + row];
    }
    const size_t cells = (size_t)batch_size * (size_t)width;
    int32_t* ids = malloc(cells * sizeof *ids);
    int32_t* mask = lengths ? malloc(cells * sizeof *mask) : NULL;
    int32_t* labels = lengths ? malloc(cells * sizeof *labels) : NULL;
    int32_t* tasks = malloc((size_t)batch_size * sizeof *tasks);
    for (int row = 0; row < batch_size; ++row) {
      const int length = lengths ? lengths[group * batch_size + row] : seq_len;
      out.real_tokens += length;
      tasks[row] = row % 2;
      for (int t = 0; t < width; ++t) {
        /* The same ids as compare_training.py: (row * 31 + position * 7) % (vocab - 3) + 3. */
        const int32_t id = (int32_t)((row * 31 + t * 7) % (vocab_size - 3) + 3);
        const size_t cell = (size_t)row * (size_t)width + (size_t)t;
        ids[cell] = t < length ? id : 0;
        if (mask) mask[cell] = t < length;
        if (labels) labels[cell] = t < length ? id : -100;
      }
    }
    sp_batch* batch = &out.batch[group];
    *batch = sp_batch_init();
    batch->input_ids = ids;
    batch->attention_mask = mask;
    batch->num_attention_mask = mask ? cells : 0;
    batch->labels = labels;
    batch->num_labels = labels ? cells : 0;
    batch->batch_size = batch_size;
    batch->seq_len = width;
    batch->num_input_ids = cells;
    if (mpt) {
      batch->task_ids = tasks;
      batch->num_task_ids = (size_t)batch_size;
    }
    int32_t** buffers = &out.buffers[group * 4];
    buffers[0] = ids;
    buffers[1] = mask;
    buffers[2] = labels;
    buffers[3] = tasks;
  }
  out.real_tokens /= out.groups; /* per step, on average over the groups */
  free(lengths);
  return out;
}

static void free_batches(batches* b) {
  for (int i = 0; i < b->groups * 4; ++i) free(b->buffers[i]);
  free(b->buffers);
  free(b->batch);
}

int main(int argc, char** argv) {
  if (argc < 10) {
    fprintf(stderr,
            "usage: %s <model> <method> <batch> <seq_len> <virtual_tokens> <steps> <cpu|cuda> <float32|bfloat16> "
            "<threads> [row lengths]\n",
            argv[0]);
    return 2;
  }
  const char* method = argv[2];
  const int batch_size = atoi(argv[3]), seq_len = atoi(argv[4]), virtual_tokens = atoi(argv[5]);
  const int steps = atoi(argv[6]), threads = atoi(argv[9]);
  const int cuda = strcmp(argv[7], "cuda") == 0, bf16 = strcmp(argv[8], "bfloat16") == 0;
  const char* lengths = argc > 10 ? argv[10] : NULL;
  const int warmup = 2;

  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = virtual_tokens;
  if (!set_method(&adapter_params, method)) {
    fprintf(stderr, "unknown method %s\n", method);
    return 2;
  }
  if (threads > 0) check(sp_set_num_threads(threads), "sp_set_num_threads");

  sp_model_info info;
  sp_model* model = bench_load_model(argv[1], cuda, bf16, &info);
  batches data = make_batches(batch_size, seq_len, lengths, info.vocab_size,
                              adapter_params.method == SP_METHOD_MULTITASK_PROMPT_TUNING);

  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &adapter_params), "sp_adapter_create");
  sp_trainer* trainer = NULL;
  check(sp_trainer_create(&trainer, adapter, NULL), "sp_trainer_create");

  const sp_device_kind device = cuda ? SP_DEVICE_CUDA : SP_DEVICE_CPU;
  sp_memory_stats loaded = sp_memory_stats_init(), trained = sp_memory_stats_init();
  check(sp_memory_get_stats(device, 0, &loaded), "sp_memory_get_stats");
  check(sp_memory_reset_peak(device, 0), "sp_memory_reset_peak");
  for (int i = 0; i < warmup; ++i)
    check(sp_trainer_step(trainer, &data.batch[i % data.groups], NULL), "sp_trainer_step");
  double start = now_seconds();
  for (int i = 0; i < steps; ++i)
    check(sp_trainer_step(trainer, &data.batch[i % data.groups], NULL), "sp_trainer_step");
  const double train_seconds = (now_seconds() - start) / steps;
  check(sp_memory_get_stats(device, 0, &trained), "sp_memory_get_stats");

  float loss = 0;
  for (int i = 0; i < warmup; ++i)
    check(sp_adapter_eval_loss(adapter, &data.batch[i % data.groups], &loss, NULL), "sp_adapter_eval_loss");
  start = now_seconds();
  for (int i = 0; i < steps; ++i)
    check(sp_adapter_eval_loss(adapter, &data.batch[i % data.groups], &loss, NULL), "sp_adapter_eval_loss");
  const double forward_seconds = (now_seconds() - start) / steps;

  int32_t used_threads = 0;
  check(sp_get_num_threads(&used_threads), "sp_get_num_threads");
  printf(
      "{\"train_step_s\": %.6f, \"forward_s\": %.6f, \"real_tokens\": %lld, \"loaded_bytes\": %llu, "
      "\"train_peak_bytes\": %llu, \"threads\": %d, \"loss\": %.6f}\n",
      train_seconds, forward_seconds, data.real_tokens, (unsigned long long)loaded.current_bytes,
      (unsigned long long)trained.peak_bytes, used_threads, loss);

  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
  free_batches(&data);
  return 0;
}
