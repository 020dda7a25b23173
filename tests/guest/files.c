/* File-system syscalls seen through libc: open/write/read/pread/pwrite/lseek/fstat/stat/ftruncate/
 * rename/unlink/mkdir/rmdir/opendir+readdir (sorted, since directory order is file-system defined),
 * dup2, stdio buffering, and error numbers for failing calls. Works in the directory argv[1] if given,
 * else in a fresh mkdtemp directory under /tmp that is removed at the end. Nothing printed depends on
 * the directory's path, times, inode numbers or ownership. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures;
#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      printf("CHECK FAILED line %d: %s (errno %d)\n", __LINE__, #cond, errno); \
      failures++;                                                    \
    }                                                                \
  } while (0)

static char dir[4096];
static char *path(const char *name) {
  static char buf[8][4200];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, sizeof buf[0], "%s/%s", dir, name);
  return p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *label) {
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  if (!d) return;
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 64) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char type = e->d_type == DT_REG ? 'f' : e->d_type == DT_DIR ? 'd' : e->d_type == DT_UNKNOWN ? '?' : 'o';
    char *s = malloc(strlen(e->d_name) + 3);
    sprintf(s, "%s:%c", e->d_name, type);
    names[n++] = s;
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  printf("%s: %d entries:", label, n);
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

static void basic_io(void) {
  printf("== write/read/lseek\n");
  int fd = open(path("data.bin"), O_CREAT | O_TRUNC | O_RDWR, 0644);
  CHECK(fd >= 0);
  unsigned char block[10000];
  for (size_t i = 0; i < sizeof block; i++) block[i] = (unsigned char)(i * 7 + i / 256);
  ssize_t w = write(fd, block, sizeof block);
  printf("wrote %zd\n", w);
  off_t end = lseek(fd, 0, SEEK_END);
  off_t cur = lseek(fd, -100, SEEK_CUR);
  off_t set = lseek(fd, 1234, SEEK_SET);
  printf("lseek end %ld cur-100 %ld set %ld\n", (long)end, (long)cur, (long)set);
  unsigned char rb[64];
  ssize_t r = read(fd, rb, sizeof rb);
  printf("read %zd at 1234: %02x %02x %02x .. %02x match %d\n", r, rb[0], rb[1], rb[2], rb[63],
         memcmp(rb, block + 1234, 64) == 0);
  r = pread(fd, rb, 16, 9990);
  printf("pread at 9990 -> %zd, pos still %ld\n", r, (long)lseek(fd, 0, SEEK_CUR));
  ssize_t pw = pwrite(fd, "PATCH", 5, 20000);  /* beyond end: leaves a hole */
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("pwrite %zd size now %ld regular %d mode %o\n", pw, (long)st.st_size, S_ISREG(st.st_mode),
         st.st_mode & 0777 & ~0022);
  lseek(fd, 15000, SEEK_SET);
  r = read(fd, rb, 8);
  printf("hole reads %zd zero bytes: %d\n", r, rb[0] == 0 && rb[7] == 0);
  CHECK(ftruncate(fd, 4096) == 0);
  CHECK(fstat(fd, &st) == 0);
  printf("after ftruncate size %ld\n", (long)st.st_size);
  r = read(fd, rb, 8);
  printf("read past end -> %zd\n", r);
  /* vectored I/O */
  struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
  lseek(fd, 0, SEEK_SET);
  printf("writev %zd\n", writev(fd, iov, 3));
  char a[5] = {0}, b[9] = {0};
  struct iovec riov[2] = {{a, 4}, {b, 8}};
  lseek(fd, 0, SEEK_SET);
  printf("readv %zd: [%s] [%s]\n", readv(fd, riov, 2), a, b);
  close(fd);
}

static void stdio_and_rename(void) {
  printf("== stdio, rename, unlink\n");
  FILE *f = fopen(path("text.txt"), "w");
  CHECK(f != NULL);
  for (int i = 0; i < 500; i++) fprintf(f, "line %d: %x %s\n", i, i * i, i % 3 ? "fizz" : "buzz");
  fclose(f);
  f = fopen(path("text.txt"), "r");
  char line[128];
  int lines = 0;
  unsigned long sum = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    for (char *p = line; *p; p++) sum = sum * 31 + (unsigned char)*p;
  }
  printf("read back %d lines, hash %lx, ftell %ld\n", lines, sum, ftell(f));
  fclose(f);
  CHECK(rename(path("text.txt"), path("renamed.txt")) == 0);
  struct stat st;
  printf("old name stat -> %d errno %s, new name size %ld\n", stat(path("text.txt"), &st), strerror(errno),
         (stat(path("renamed.txt"), &st), (long)st.st_size));
  CHECK(mkdir(path("sub"), 0755) == 0);
  int fd = open(path("sub/inner"), O_CREAT | O_WRONLY | O_EXCL, 0600);
  CHECK(fd >= 0);
  CHECK(write(fd, "x", 1) == 1);
  close(fd);
  printf("O_EXCL again -> %d errno %s\n", open(path("sub/inner"), O_CREAT | O_WRONLY | O_EXCL, 0600), strerror(errno));
  list_dir("after create");
  printf("rmdir non-empty -> %d errno %s\n", rmdir(path("sub")), strerror(errno));
  CHECK(unlink(path("sub/inner")) == 0);
  CHECK(rmdir(path("sub")) == 0);
  for (int i = 9; i >= 0; i--) {
    char name[32];
    sprintf(name, "f%02d", i * 7 % 10);
    fd = open(path(name), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, name, strlen(name)) == (ssize_t)strlen(name));
    close(fd);
  }
  list_dir("ten files");
}

static void errors_and_fds(void) {
  printf("== errors and descriptors\n");
  errno = 0;
  printf("open missing -> %d %s\n", open(path("no/such/file"), O_RDONLY), strerror(errno));
  printf("read bad fd -> %zd %s\n", read(9999, NULL, 0), strerror(errno));
  printf("close bad fd -> %d %s\n", close(-1), strerror(errno));
  printf("unlink missing -> %d %s\n", unlink(path("missing")), strerror(errno));
  printf("opendir on a file -> %s %s\n", opendir(path("data.bin")) ? "ok" : "NULL", strerror(errno));
  int fd = open(path("renamed.txt"), O_RDONLY);
  int d = dup(fd);
  int d2 = dup2(fd, 40);
  printf("dup gives a new fd %d, dup2 -> %d\n", d > fd, d2);
  char c[6] = {0};
  CHECK(read(d2, c, 5) == 5);
  /* dup'ed descriptors share the file offset */
  printf("read via dup2 [%s], offset via original %ld\n", c, (long)lseek(fd, 0, SEEK_CUR));
  int fl = fcntl(fd, F_GETFD);
  CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
  printf("cloexec before %d after %d\n", fl & FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
  close(fd);
  close(d);
  close(d2);
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "through a pipe", 14) == 14);
  char pb[32] = {0};
  printf("pipe read %zd [%s]\n", read(p[0], pb, sizeof pb - 1), pb);
  close(p[0]);
  close(p[1]);
  char cwd[4096];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK(chdir(dir) == 0);
  printf("relative access after chdir: %d\n", access("renamed.txt", R_OK));
  CHECK(chdir(cwd) == 0);
}

static void cleanup(void) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) CHECK(unlink(path(e->d_name)) == 0);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  int own_dir = argc < 2;
  if (own_dir) {
    strcpy(dir, "/tmp/vmkit-files-XXXXXX");
    if (!mkdtemp(dir)) {
      perror("mkdtemp");
      return 2;
    }
  } else {
    snprintf(dir, sizeof dir, "%s", argv[1]);
  }
  basic_io();
  stdio_and_rename();
  errors_and_fds();
  cleanup();
  list_dir("after cleanup");
  if (own_dir) CHECK(rmdir(dir) == 0);
  printf("failures %d\n", failures);
  return failures ? 1 : 0;
}
