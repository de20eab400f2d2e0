/*
 * Saves are atomic as a unit, through the C API: a PEFT folder (adapter_config.json +
 * adapter_model.safetensors) and a single file are, whenever their writer is killed, either the
 * old adapter or the new one, whole; temporaries left by killed writers are removed by the next
 * save, those of live writers never; files a user keeps in an adapter folder survive a save.
 *
 *   test_atomic_saves <models-folder> <scratch-folder>
 *
 * The kill loops fork children from this process (which has the model loaded, so a child starts
 * saving at once), let each run for a random number of microseconds (fixed seed) and kill -9 it,
 * then load what is on disk. The two adapters alternate between 4 and 9 virtual tokens, so a
 * config of one with the weights of the other cannot load, and each is recognised by its weights.
 * Saving without renameat2(RENAME_EXCHANGE) (the fallback of io::write_folder_atomically) is tested
 * by children that deny that system call with a seccomp filter, as an old kernel or a filesystem
 * without it would.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

#define KILLS 200          /* per format */
#define FALLBACK_KILLS 100 /* the folder save without RENAME_EXCHANGE */
#define CONCURRENT_LOADS 300
#define SMALL_TOKENS 4
#define LARGE_TOKENS 9

static const char* models_root;
static const char* scratch_root;

/* --- the two adapters and how to recognise them */

typedef struct known_adapter {
  sp_adapter* adapter;
  int32_t tokens;
  float* table; /* "embedding.weight" */
  size_t count;
} known_adapter;

typedef struct fixture {
  sp_model* model;
  known_adapter small, large;
} fixture;

static known_adapter make_adapter(sp_model* model, int32_t tokens, uint64_t seed) {
  known_adapter known = {NULL, tokens, NULL, 0};
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = tokens;
  params.seed = seed;
  SP_CHECK(sp_adapter_create(&known.adapter, model, &params));
  SP_CHECK(sp_adapter_parameter_size(known.adapter, "embedding.weight", &known.count));
  known.table = malloc(known.count * sizeof(float));
  SP_CHECK(sp_adapter_get_parameter(known.adapter, "embedding.weight", known.table, known.count));
  return known;
}

static int setup(void** state) {
  fixture* f = calloc(1, sizeof *f);
  /* Always on the CPU, whatever SP_TEST_DEVICE says: this suite is about files, and its writers are
   * forked children, which cannot use a CUDA context their parent created. */
  char folder[1024];
  if (sp_model_create(&f->model, test_path(folder, sizeof folder, models_root, "llama"), NULL) != SP_OK) {
    fprintf(stderr, "cannot load %s: %s\n", folder, sp_last_error());
    return -1;
  }
  f->small = make_adapter(f->model, SMALL_TOKENS, 1);
  f->large = make_adapter(f->model, LARGE_TOKENS, 2);
  *state = f;
  return 0;
}

static int teardown(void** state) {
  fixture* f = *state;
  sp_adapter_free(f->small.adapter);
  sp_adapter_free(f->large.adapter);
  free(f->small.table);
  free(f->large.table);
  sp_model_free(f->model);
  free(f);
  return 0;
}

typedef enum outcome { WAS_SMALL, WAS_LARGE, WAS_MISSING, WAS_MIXED } outcome;

/* Loads the folder (or file) and says which of the two adapters it is, whole; WAS_MIXED (with the
 * reason in `why`) for anything else. */
static outcome identify(const fixture* f, const char* path, int single_file, char* why, size_t why_size) {
  sp_adapter* loaded = NULL;
  sp_status status =
      single_file ? sp_adapter_load_file(&loaded, f->model, path) : sp_adapter_load(&loaded, f->model, path);
  if (status == SP_ERR_NOT_FOUND) return WAS_MISSING;
  if (status != SP_OK) {
    snprintf(why, why_size, "load returned %s: %s", sp_status_string(status), sp_last_error());
    return WAS_MIXED;
  }
  sp_adapter_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  outcome result = WAS_MIXED;
  snprintf(why, why_size, "loaded, but neither adapter");
  if (sp_adapter_get_info(loaded, &info) == SP_OK) {
    const known_adapter* candidate = info.num_virtual_tokens == SMALL_TOKENS ? &f->small : &f->large;
    float* table = malloc(candidate->count * sizeof(float));
    if (info.num_virtual_tokens == candidate->tokens &&
        sp_adapter_get_parameter(loaded, "embedding.weight", table, candidate->count) == SP_OK &&
        memcmp(table, candidate->table, candidate->count * sizeof(float)) == 0)
      result = candidate->tokens == SMALL_TOKENS ? WAS_SMALL : WAS_LARGE;
    else
      snprintf(why, why_size, "loaded with %d virtual tokens, weights of neither adapter", info.num_virtual_tokens);
    free(table);
  }
  sp_adapter_free(loaded);
  return result;
}

static sp_status save(const known_adapter* known, const char* path, int single_file) {
  return single_file ? sp_adapter_save_file(known->adapter, path) : sp_adapter_save(known->adapter, path);
}

/* --- the folder around a target */

/* Entries of `folder` other than those named in `expected` (NULL-terminated); prints them. */
static int count_unexpected_entries(const char* folder, const char* const* expected, int verbose) {
  DIR* dir = opendir(folder);
  if (!dir) return 0; /* a folder that is not there holds nothing unexpected */
  int unexpected = 0;
  for (struct dirent* entry; (entry = readdir(dir)) != NULL;) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    int known = 0;
    for (const char* const* name = expected; *name; ++name) known = known || strcmp(entry->d_name, *name) == 0;
    if (!known) {
      if (verbose) printf("    unexpected entry %s/%s\n", folder, entry->d_name);
      ++unexpected;
    }
  }
  closedir(dir);
  return unexpected;
}

static void write_text(const char* path, const char* text) {
  FILE* file = fopen(path, "w");
  if (!file) fail_msg("cannot create %s", path);
  fputs(text, file);
  fclose(file);
}

static int file_holds(const char* path, const char* text) {
  char buffer[256] = {0};
  FILE* file = fopen(path, "r");
  if (!file) return 0;
  size_t length = fread(buffer, 1, sizeof buffer - 1, file);
  fclose(file);
  return length == strlen(text) && memcmp(buffer, text, length) == 0;
}

static void remove_tree(const char* path) {
  char command[1200];
  snprintf(command, sizeof command, "rm -rf '%s'", path);
  if (system(command) != 0) fail_msg("cannot remove %s", path);
}

/* A fresh, empty scratch folder <scratch>/<name>. */
static void fresh_folder(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/%s", scratch_root, name);
  remove_tree(out);
  make_dirs(out);
}

/* A pid that no process has: a child that has exited and been reaped. */
static pid_t dead_pid(void) {
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0);
  return child;
}

/* --- denying renameat2 (seccomp), as a kernel or filesystem without RENAME_EXCHANGE does */

#if defined(__x86_64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_AARCH64
#endif

/* In a child only: from now on renameat2 fails with `error`. Returns 0 when that holds. */
static int deny_renameat2(int error) {
#if defined(AUDIT_ARCH_HERE) && defined(SYS_renameat2)
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_HERE, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)error),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return -1;
  errno = 0;
  if (syscall(SYS_renameat2, AT_FDCWD, "/nonexistent-a", AT_FDCWD, "/nonexistent-b", 2) == 0 || errno != error)
    return -1;
  return 0;
#else
  (void)error;
  return -1;
#endif
}

/* Whether this machine lets a child install the filter (skips the fallback tests where not). */
static int can_deny_renameat2(void) {
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) _exit(deny_renameat2(ENOSYS) == 0 ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Saves `known` to `path` in a child whose renameat2 fails with `error` (0: not denied). Returns the
 * child's exit status: 0 saved, 1 the save failed, 2 the filter could not be installed. */
static int save_in_child(const known_adapter* known, const char* path, int error) {
  fflush(stdout);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    if (error && deny_renameat2(error) != 0) _exit(2);
    if (sp_adapter_save(known->adapter, path) != SP_OK) {
      fprintf(stderr, "save in child: %s\n", sp_last_error());
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

/* --- tests */

static void a_folder_save_keeps_the_files_it_does_not_write(void** state) {
  fixture* f = *state;
  char parent[700], folder[800], path[1000], why[400];
  fresh_folder(parent, sizeof parent, "keeps_files");
  snprintf(folder, sizeof folder, "%s/adapter", parent);
  SP_CHECK(sp_adapter_save(f->small.adapter, folder));
  write_text(test_path(path, sizeof path, folder, "README.md"), "my notes\n");
  snprintf(path, sizeof path, "%s/tokenizer", folder);
  make_dirs(path);
  write_text(test_path(path, sizeof path, folder, "tokenizer/tokenizer.json"), "{}\n");

  SP_CHECK(sp_adapter_save(f->large.adapter, folder));
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_LARGE);
  assert_true(file_holds(test_path(path, sizeof path, folder, "README.md"), "my notes\n"));
  assert_true(file_holds(test_path(path, sizeof path, folder, "tokenizer/tokenizer.json"), "{}\n"));
  const char* const in_folder[] = {"adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer", NULL};
  assert_int_equal(count_unexpected_entries(folder, in_folder, 1), 0);
  const char* const in_parent[] = {"adapter", NULL};
  assert_int_equal(count_unexpected_entries(parent, in_parent, 1), 0);
  printf("    README.md and tokenizer/tokenizer.json kept across a save; no temporaries left\n");
}

static void a_save_removes_dead_writers_temporaries_and_no_live_ones(void** state) {
  fixture* f = *state;
  char parent[700], folder[800], path[1000], file[800];
  fresh_folder(parent, sizeof parent, "stale");
  snprintf(folder, sizeof folder, "%s/adapter", parent);
  snprintf(file, sizeof file, "%s/adapter.spa", parent);
  SP_CHECK(sp_adapter_save(f->small.adapter, folder));
  SP_CHECK(sp_adapter_save_file(f->small.adapter, file));

  pid_t gone = dead_pid();
  pid_t live = fork(); /* a writer still at work: its temporaries must stay */
  assert_true(live >= 0);
  if (live == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test (nor holds ctest's pipe) */
    close(1);
    close(2);
    pause();
    _exit(0);
  }
  /* What killed writers leave: the folder's temporary sibling (hidden), the single file's, and the
   * per-file temporaries inside the folder that versions before 0.3 wrote. */
  snprintf(path, sizeof path, "%s/.adapter.tmp-%d-1a2b3c4d", parent, (int)gone);
  make_dirs(path);
  strcat(path, "/adapter_config.json");
  write_text(path, "{");
  snprintf(path, sizeof path, "%s/.adapter.old-%d-3c3c3c3c", parent, (int)gone);
  make_dirs(path);
  snprintf(path, sizeof path, "%s/adapter.spa.tmp-%d-4d4d4d4d4d", parent, (int)gone);
  write_text(path, "partial");
  snprintf(path, sizeof path, "%s/adapter_model.safetensors.tmp-%d-5e5e5e5e5e5e", folder, (int)gone);
  write_text(path, "partial");
  snprintf(path, sizeof path, "%s/adapter_config.json.tmp-%d-6f6f6f6f6f6f6f6f", folder, (int)gone);
  write_text(path, "partial");
  /* A live writer's, and names that only look like temporaries. */
  char live_folder[64], live_file[64], other_target[64], not_hex[64], short_random[64], user_backup[64];
  snprintf(live_folder, sizeof live_folder, ".adapter.tmp-%d-7a7a7a7a", (int)live);
  snprintf(live_file, sizeof live_file, "adapter.spa.tmp-%d-8b8b8b8b", (int)live);
  snprintf(other_target, sizeof other_target, ".other.tmp-%d-9c9c9c9c", (int)gone);
  snprintf(not_hex, sizeof not_hex, ".adapter.tmp-%d-xyzxyzxyz", (int)gone);
  snprintf(short_random, sizeof short_random, "adapter.tmp-%d-12", (int)gone); /* a user's "adapter.tmp-2023-12" */
  snprintf(user_backup, sizeof user_backup, "adapter.old-%d-12345678", (int)gone);
  const char* const kept[] = {live_folder, live_file, other_target, not_hex, short_random, user_backup};
  for (int i = 0; i < 6; ++i) write_text(test_path(path, sizeof path, parent, kept[i]), "keep");

  SP_CHECK(sp_adapter_save(f->large.adapter, folder));
  SP_CHECK(sp_adapter_save_file(f->large.adapter, file));
  kill(live, SIGKILL);
  waitpid(live, NULL, 0);

  const char* const in_parent[] = {"adapter", "adapter.spa", live_folder, live_file, other_target,
                                   not_hex,   short_random,  user_backup, NULL};
  const char* const in_folder[] = {"adapter_config.json", "adapter_model.safetensors", NULL};
  int left = count_unexpected_entries(parent, in_parent, 1) + count_unexpected_entries(folder, in_folder, 1);
  for (int i = 0; i < 6; ++i)
    if (!file_holds(test_path(path, sizeof path, parent, kept[i]), "keep")) fail_msg("%s was removed", kept[i]);
  if (left) fail_msg("%d stale temporaries of dead writers survived a save", left);
  printf("    5 temporaries of a dead writer removed; a live writer's 2 and 4 look-alikes kept\n");
}

static int leftovers(const char* parent, const char* name, int single_file, int verbose);

/* Mean duration of one save, in microseconds: the range the kill delays are drawn from. */
static double microseconds_per_save(const fixture* f, const char* path, int single_file) {
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int i = 0; i < 10; ++i) SP_CHECK(save(i % 2 ? &f->small : &f->large, path, single_file));
  clock_gettime(CLOCK_MONOTONIC, &end);
  return ((end.tv_sec - start.tv_sec) * 1e6 + (end.tv_nsec - start.tv_nsec) / 1e3) / 10;
}

/* Kills `kills` children that save `path` in a loop, alternating the two adapters, and checks after
 * each kill what a load finds. `denied_error` != 0 runs the children without RENAME_EXCHANGE.
 * Returns the number of loads that found neither adapter whole. */
static int kill_loop(const fixture* f, const char* parent, const char* name, int single_file, int kills,
                     int denied_error, int* counts /* [4] by outcome, then kills that left temporaries */) {
  char path[1000];
  snprintf(path, sizeof path, "%s/%s", parent, name);
  SP_CHECK(save(&f->small, path, single_file));
  const double save_us = microseconds_per_save(f, path, single_file);
  unsigned seed = 12345;
  for (int kill_number = 0; kill_number < kills; ++kill_number) {
    /* Delays span a little over two saves plus the start of the child, so kills land in every phase. */
    const useconds_t delay = (useconds_t)(rand_r(&seed) % (int)(3 * save_us + 200));
    fflush(stdout);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
      if (denied_error && deny_renameat2(denied_error) != 0) _exit(2);
      for (unsigned i = (unsigned)kill_number;; ++i)
        if (save(i % 2 ? &f->small : &f->large, path, single_file) != SP_OK) _exit(1);
    }
    usleep(delay);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFSIGNALED(status)) fail_msg("the saving child exited by itself (status %d)", WEXITSTATUS(status));
    char why[400];
    outcome found = identify(f, path, single_file, why, sizeof why);
    if (found == WAS_MIXED) printf("    kill %d after %u us: %s\n", kill_number, (unsigned)delay, why);
    counts[found]++;
    if (leftovers(parent, name, single_file, 0) > 0) counts[4]++; /* killed inside a write */
  }
  printf("    one save takes %.0f us; kill delays drawn from [0, %.0f) us\n", save_us, 3 * save_us + 200);
  return counts[WAS_MIXED];
}

static void report(const char* label, int kills, const int* counts) {
  printf(
      "    %s: %d kills (%d inside a write, leaving temporaries): %d loads found the %d-token adapter, "
      "%d the %d-token one, %d no folder, %d neither whole\n",
      label, kills, counts[4], counts[WAS_SMALL], SMALL_TOKENS, counts[WAS_LARGE], LARGE_TOKENS, counts[WAS_MISSING],
      counts[WAS_MIXED]);
}

/* Temporaries of `name` left in `parent` (and, for a folder, anything in it but our two files and
 * the README.md some tests keep there). Quiet unless `verbose`. */
static int leftovers(const char* parent, const char* name, int single_file, int verbose) {
  char folder[1000];
  const char* const in_parent[] = {name, NULL};
  const char* const in_folder[] = {"adapter_config.json", "adapter_model.safetensors", "README.md", NULL};
  int left = count_unexpected_entries(parent, in_parent, verbose);
  if (!single_file)
    left += count_unexpected_entries(test_path(folder, sizeof folder, parent, name), in_folder, verbose);
  return left;
}

static void kill_loop_test(const fixture* f, int single_file) {
  char parent[700], path[800];
  const char* name = single_file ? "adapter.spa" : "adapter";
  fresh_folder(parent, sizeof parent, single_file ? "kill_file" : "kill_folder");
  snprintf(path, sizeof path, "%s/%s", parent, name);
  int counts[5] = {0, 0, 0, 0, 0};
  const int mixed = kill_loop(f, parent, name, single_file, KILLS, 0, counts);
  report(single_file ? "single file" : "PEFT folder", KILLS, counts);
  const int stale_before = leftovers(parent, name, single_file, 0);
  SP_CHECK(save(&f->small, path, single_file));
  const int stale_after = leftovers(parent, name, single_file, 1);
  printf("    temporaries on disk after the kills: %d; after one more save: %d\n", stale_before, stale_after);
  if (mixed) fail_msg("%d of %d loads after a kill found neither adapter whole", mixed, KILLS);
  if (counts[WAS_MISSING]) fail_msg("%d loads after a kill found no adapter", counts[WAS_MISSING]);
  /* The kills landed on both sides of the saves and inside writes. */
  assert_true(counts[WAS_SMALL] > 0 && counts[WAS_LARGE] > 0 && counts[4] > 0);
  assert_int_equal(stale_after, 0);
}

static void every_load_after_a_kill_finds_one_folder_whole(void** state) { kill_loop_test(*state, 0); }
static void every_load_after_a_kill_finds_one_file_whole(void** state) { kill_loop_test(*state, 1); }

/* A live writer saving in a loop while this process loads: every load finds one adapter whole.
 * Needs load_peft_folder to read through io::read_folder_consistently (config and weights are two
 * opens, and a save may swap the folder between them: 1 to 4 mixed loads of 300 without it, none
 * in 900 with it). */
static void loads_during_saves_find_one_folder_whole(void** state) {
  fixture* f = *state;
  char parent[700], folder[800], why[400];
  fresh_folder(parent, sizeof parent, "concurrent");
  snprintf(folder, sizeof folder, "%s/adapter", parent);
  SP_CHECK(sp_adapter_save(f->small.adapter, folder));
  fflush(stdout);
  pid_t writer = fork();
  assert_true(writer >= 0);
  if (writer == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (unsigned i = 0;; ++i)
      if (sp_adapter_save(i % 2 ? f->small.adapter : f->large.adapter, folder) != SP_OK) _exit(1);
  }
  int counts[5] = {0, 0, 0, 0, 0};
  /* At least CONCURRENT_LOADS loads, and on until both adapters were seen: on a busy machine the
   * writer may not finish its first save within the first loads (bounded: 60 s). */
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int loads = 0;
  for (;; ++loads) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    const int both_seen = counts[WAS_SMALL] > 0 && counts[WAS_LARGE] > 0;
    if (loads >= CONCURRENT_LOADS && (both_seen || now.tv_sec - start.tv_sec > 60)) break;
    outcome found = identify(f, folder, 0, why, sizeof why);
    if (found != WAS_SMALL && found != WAS_LARGE)
      printf("    load %d: %s\n", loads, found == WAS_MISSING ? "not found" : why);
    counts[found]++;
  }
  kill(writer, SIGKILL);
  int status = 0;
  waitpid(writer, &status, 0);
  if (!WIFSIGNALED(status)) fail_msg("the saving process stopped by itself (status %d)", WEXITSTATUS(status));
  printf(
      "    %d loads while another process saved: %d found the %d-token adapter, %d the %d-token one, "
      "%d no folder, %d neither whole\n",
      loads, counts[WAS_SMALL], SMALL_TOKENS, counts[WAS_LARGE], LARGE_TOKENS, counts[WAS_MISSING], counts[WAS_MIXED]);
  assert_int_equal(counts[WAS_MIXED] + counts[WAS_MISSING], 0);
  assert_true(counts[WAS_SMALL] > 0 && counts[WAS_LARGE] > 0);
}

static void without_rename_exchange_a_folder_save_still_never_mixes(void** state) {
  fixture* f = *state;
  if (!can_deny_renameat2()) {
    printf("    seccomp filters are not available here: fallback not exercised\n");
    skip();
  }
  char parent[700], folder[800], path[1000], why[400];
  fresh_folder(parent, sizeof parent, "fallback");
  snprintf(folder, sizeof folder, "%s/adapter", parent);
  /* Both answers of a system without the flag: the kernel's (ENOSYS) and the filesystem's (EINVAL). */
  assert_int_equal(save_in_child(&f->small, folder, ENOSYS), 0);
  write_text(test_path(path, sizeof path, folder, "README.md"), "my notes\n");
  assert_int_equal(save_in_child(&f->large, folder, ENOSYS), 0);
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_LARGE);
  assert_int_equal(save_in_child(&f->small, folder, EINVAL), 0);
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_SMALL);
  assert_true(file_holds(test_path(path, sizeof path, folder, "README.md"), "my notes\n"));
  assert_int_equal(leftovers(parent, "adapter", 0, 1), 0);

  /* A writer killed between the two renames leaves no folder (a load says "not found", never a
   * mix) and the previous one under .adapter.old-<pid>-<hex>: the next save puts it back first, so
   * the README survives. */
  char orphan[900];
  snprintf(orphan, sizeof orphan, "%s/.adapter.old-%d-abcdef0123", parent, (int)dead_pid());
  assert_int_equal(rename(folder, orphan), 0);
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_MISSING);
  assert_int_equal(save_in_child(&f->large, folder, ENOSYS), 0);
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_LARGE);
  if (!file_holds(test_path(path, sizeof path, folder, "README.md"), "my notes\n"))
    fail_msg("README.md was lost with the orphaned previous folder");
  assert_int_equal(leftovers(parent, "adapter", 0, 1), 0);

  /* Killed at random: the old folder, the new one, or (between the two renames) none, never a mix. */
  int counts[5] = {0, 0, 0, 0, 0};
  const int mixed = kill_loop(f, parent, "adapter", 0, FALLBACK_KILLS, ENOSYS, counts);
  report("PEFT folder without RENAME_EXCHANGE", FALLBACK_KILLS, counts);
  assert_int_equal(save_in_child(&f->small, folder, ENOSYS), 0);
  if (mixed) fail_msg("%d of %d loads after a kill found neither adapter whole", mixed, FALLBACK_KILLS);
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_SMALL);
  if (!file_holds(test_path(path, sizeof path, folder, "README.md"), "my notes\n"))
    fail_msg("README.md was lost by the kills");
  assert_int_equal(leftovers(parent, "adapter", 0, 1), 0);
}

/* A folder that is a mount point cannot be renamed (renameat2 and rename fail with EBUSY): the save
 * falls back to writing each file atomically inside it, and still keeps the user's files. The mount
 * point is simulated by a seccomp filter that answers EBUSY. */
static void a_folder_that_cannot_be_renamed_is_saved_file_by_file(void** state) {
  fixture* f = *state;
  if (!can_deny_renameat2()) {
    printf("    seccomp filters are not available here: fallback not exercised\n");
    skip();
  }
  char parent[700], folder[800], path[1000], why[400];
  fresh_folder(parent, sizeof parent, "mount_point");
  snprintf(folder, sizeof folder, "%s/adapter", parent);
  SP_CHECK(sp_adapter_save(f->small.adapter, folder));
  write_text(test_path(path, sizeof path, folder, "README.md"), "my notes\n");
  assert_int_equal(save_in_child(&f->large, folder, EBUSY), 0);
  assert_int_equal(identify(f, folder, 0, why, sizeof why), WAS_LARGE);
  assert_true(file_holds(test_path(path, sizeof path, folder, "README.md"), "my notes\n"));
  assert_int_equal(leftovers(parent, "adapter", 0, 1), 0);
  printf("    renameat2 answering EBUSY: saved file by file, README kept, no temporaries\n");
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder> <scratch-folder>",
                             (const char**[]){&models_root, &scratch_root}, 2))
    return 2;
  make_dirs(scratch_root);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_folder_save_keeps_the_files_it_does_not_write),
      cmocka_unit_test(a_save_removes_dead_writers_temporaries_and_no_live_ones),
      cmocka_unit_test(every_load_after_a_kill_finds_one_folder_whole),
      cmocka_unit_test(every_load_after_a_kill_finds_one_file_whole),
      cmocka_unit_test(loads_during_saves_find_one_folder_whole),
      cmocka_unit_test(a_folder_that_cannot_be_renamed_is_saved_file_by_file),
      cmocka_unit_test(without_rename_exchange_a_folder_save_still_never_mixes),
  };
  return cmocka_run_group_tests_name("atomic saves", tests, setup, teardown);
}
