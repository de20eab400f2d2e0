/*
 * Reads the dynamic section of the built libsoftprompt.so and checks its run path: every element
 * must be an absolute folder or start with $ORIGIN. An empty element (e.g. a trailing ':') or a
 * relative one makes the dynamic loader search the process's current directory, so a library
 * planted there (a libz.so.1) would be loaded into every program that uses softprompt.
 *
 *   test_library_runpath <path-to-libsoftprompt.so>
 */
#include <elf.h>

#include "test_support.h"

static const char* library_path;

/* The DT_RUNPATH / DT_RPATH strings of a 64-bit little-endian ELF file, joined by '\n'. */
static char* read_run_paths(const char* path) {
  size_t size = 0;
  unsigned char* file = read_raw(path, 1, &size);
  if (size < sizeof(Elf64_Ehdr) || memcmp(file, ELFMAG, SELFMAG) != 0 || file[EI_CLASS] != ELFCLASS64)
    fail_msg("%s is not a 64-bit ELF file", path);
  const Elf64_Ehdr* header = (const Elf64_Ehdr*)file;
  if (header->e_shoff + (size_t)header->e_shnum * sizeof(Elf64_Shdr) > size) fail_msg("%s: bad section table", path);
  const Elf64_Shdr* sections = (const Elf64_Shdr*)(file + header->e_shoff);
  static char joined[8192];
  joined[0] = '\0';
  int found_dynamic = 0;
  for (int i = 0; i < header->e_shnum; ++i) {
    if (sections[i].sh_type != SHT_DYNAMIC) continue;
    found_dynamic = 1;
    const Elf64_Shdr* strings = &sections[sections[i].sh_link];
    const Elf64_Dyn* entries = (const Elf64_Dyn*)(file + sections[i].sh_offset);
    size_t count = sections[i].sh_size / sizeof(Elf64_Dyn);
    for (size_t k = 0; k < count && entries[k].d_tag != DT_NULL; ++k) {
      if (entries[k].d_tag != DT_RUNPATH && entries[k].d_tag != DT_RPATH) continue;
      const char* text = (const char*)file + strings->sh_offset + entries[k].d_un.d_val;
      strncat(joined, text, sizeof joined - strlen(joined) - 2);
      strcat(joined, "\n");
    }
  }
  if (!found_dynamic) fail_msg("%s has no dynamic section", path);
  free(file);
  return joined;
}

/* The rule for one colon-separated list: no empty element, none relative. Returns 0 if it holds. */
static int run_path_is_safe(const char* list, char* offending, size_t offending_size) {
  const char* start = list;
  for (;;) {
    const char* end = strchr(start, ':');
    size_t length = end ? (size_t)(end - start) : strlen(start);
    int absolute = length > 0 && start[0] == '/';
    int origin = length >= 7 && strncmp(start, "$ORIGIN", 7) == 0;
    if (!absolute && !origin) {
      snprintf(offending, offending_size, "'%.*s'", (int)length, start);
      return 1;
    }
    if (!end) return 0;
    start = end + 1;
  }
}

static void the_rule_catches_empty_and_relative_elements(void** state) {
  (void)state;
  char offending[256];
  assert_int_equal(run_path_is_safe("/opt/torch/lib", offending, sizeof offending), 0);
  assert_int_equal(run_path_is_safe("$ORIGIN:/opt/torch/lib", offending, sizeof offending), 0);
  assert_int_equal(run_path_is_safe("/opt/torch/lib:", offending, sizeof offending), 1);
  assert_int_equal(run_path_is_safe(":/opt/torch/lib", offending, sizeof offending), 1);
  assert_int_equal(run_path_is_safe("/a::/b", offending, sizeof offending), 1);
  assert_int_equal(run_path_is_safe("lib:/b", offending, sizeof offending), 1);
}

static void the_library_run_path_has_no_empty_or_relative_element(void** state) {
  (void)state;
  char* paths = read_run_paths(library_path);
  printf("    run path of %s:\n      %s", library_path, paths[0] ? paths : "(none)\n");
  for (char* line = paths; *line;) {
    char* newline = strchr(line, '\n');
    *newline = '\0';
    char offending[256];
    if (run_path_is_safe(line, offending, sizeof offending))
      fail_msg("run path element %s of '%s' is empty or relative: the loader would search the current directory",
               offending, line);
    line = newline + 1;
  }
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<libsoftprompt.so>", (const char**[]){&library_path}, 1)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_rule_catches_empty_and_relative_elements),
      cmocka_unit_test(the_library_run_path_has_no_empty_or_relative_element),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
