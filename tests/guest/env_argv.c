/* The initial process state the loader builds: argc/argv (including empty and spaced arguments),
 * the environment (only variables the tests set, so the host's do not leak into the output), and a
 * few auxiliary-vector entries that do not depend on addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int main(int argc, char **argv) {
  printf("argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d] = [%s] (%zu bytes)\n", i, argv[i], strlen(argv[i]));
  printf("argv[argc] is NULL: %d\n", argv[argc] == NULL);
  /* argv[0] is whatever the runner passed; print only its last path component. */
  const char *slash = strrchr(argv[0], '/');
  printf("argv[0] basename [%s]\n", slash ? slash + 1 : argv[0]);
  /* Sorted: the order of environ is the runner's business (qemu-user reverses it, Linux keeps it). */
  const char *ours[64];
  int n = 0, k = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "VMKIT_T_", 8) == 0 && k < 64) ours[k++] = *e;
    n++;
  }
  qsort(ours, k, sizeof ours[0], cmp_str);
  for (int i = 0; i < k; i++) printf("env %s\n", ours[i]);
  printf("environment has at least one entry: %d\n", n > 0);
  const char *v = getenv("VMKIT_T_GREETING");
  printf("getenv(VMKIT_T_GREETING) = %s\n", v ? v : "(unset)");
  printf("getenv(VMKIT_T_MISSING) = %s\n", getenv("VMKIT_T_MISSING") ? "set" : "(unset)");
  setenv("VMKIT_T_NEW", "added", 1);
  printf("after setenv: %s\n", getenv("VMKIT_T_NEW"));
  printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
  printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
  printf("AT_RANDOM present %d\n", getauxval(AT_RANDOM) != 0);
  printf("AT_PHDR present %d AT_ENTRY present %d\n", getauxval(AT_PHDR) != 0, getauxval(AT_ENTRY) != 0);
  printf("sysconf(_SC_PAGESIZE) %ld\n", sysconf(_SC_PAGESIZE));
  long total = 0;
  for (int i = 1; i < argc; i++) total += atol(argv[i]);
  printf("sum of numeric arguments %ld\n", total);
  return argc;
}
