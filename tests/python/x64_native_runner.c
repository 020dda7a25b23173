// The reference side of test_random_x64.py: runs x86-64 code snippets natively on the host CPU and
// reports the state they leave (all GPRs, RFLAGS, MXCSR, XMM0-15 and a scratch buffer).
//
// The kernel loads and saves every register, so there is no hand-written prologue or epilogue: a
// snippet starts through a signal return (the SIGUSR1 handler writes the initial state into the
// ucontext that sigreturn installs) and ends at a ud2 (the SIGILL handler reads the final state from
// its ucontext). A fault in the middle (SIGSEGV, SIGFPE for #DE, ...) is captured the same way, with
// its signal number, si_code and si_addr. Handlers run on an alternate stack, because rsp points into
// the scratch buffer.
//
// Each snippet runs in its own forked child, where the code (RWX) and the buffer are mapped at fixed
// addresses (the same ones vmkit maps), so absolute and RIP-relative addresses agree. The child
// reports through a page shared with the parent; a child that hangs is killed by alarm().
//
// Protocol (native byte order). stdin: u32 job count, then per job: u32 code length, the code, the
// initial state (struct St), BUF_BYTES bytes of buffer. stdout, per job: i32 status (0: the child
// reported a signal; otherwise its wait status), the final state (struct St), the buffer.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE 0x10000000UL
#define CODE_BYTES 0x10000UL
#define BUF 0x10100000UL
#define BUF_BYTES 0x1000UL

struct St {  // Python: struct "<16QQQII32Qiiq"
  uint64_t g[16];  // rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (the hardware's numbering)
  uint64_t rip, rflags;
  uint32_t mxcsr, pad;
  uint64_t xmm[16][2];
  int32_t sig, code;
  uint64_t addr;
};

struct Shared {
  volatile int done;
  struct St out;
  uint8_t buf[BUF_BYTES];
};

static struct St in;
static struct Shared* shared;
static volatile int started;
static const int greg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                             REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

static void handler(int sig, siginfo_t* si, void* p) {
  ucontext_t* uc = p;
  greg_t* g = uc->uc_mcontext.gregs;
  struct _libc_fpstate* fp = uc->uc_mcontext.fpregs;
  if (!started) {  // SIGUSR1: install the initial state, which sigreturn then loads
    started = 1;
    for (int i = 0; i < 16; i++) g[greg[i]] = (greg_t)in.g[i];
    g[REG_RIP] = (greg_t)CODE;
    // Status flags and DF as given; IF (and bit 1) as always in user mode; no TF, AC or RF.
    g[REG_EFL] = (greg_t)((in.rflags & 0xcd5) | 0x202);
    fp->mxcsr = in.mxcsr;
    memcpy(fp->_xmm, in.xmm, sizeof in.xmm);
    return;
  }
  struct St* o = &shared->out;
  for (int i = 0; i < 16; i++) o->g[i] = (uint64_t)g[greg[i]];
  o->rip = (uint64_t)g[REG_RIP];
  o->rflags = (uint64_t)g[REG_EFL] & ~0x10000UL;  // without RF, which the kernel may set
  o->mxcsr = fp->mxcsr;
  memcpy(o->xmm, fp->_xmm, sizeof o->xmm);
  o->sig = sig;
  o->code = si->si_code;
  o->addr = (uint64_t)si->si_addr;
  memcpy(shared->buf, (void*)BUF, BUF_BYTES);
  shared->done = 1;
  _exit(0);
}

static void child(const uint8_t* code, uint32_t n, const uint8_t* buf) {
  void* c = mmap((void*)CODE, CODE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  void* b = mmap((void*)BUF, BUF_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (c != (void*)CODE || b != (void*)BUF) _exit(120);
  memcpy(c, code, n);
  memcpy(b, buf, BUF_BYTES);
  static uint8_t altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  if (sigaltstack(&ss, 0) != 0) _exit(121);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  const int sigs[] = {SIGILL, SIGSEGV, SIGFPE, SIGBUS, SIGTRAP, SIGUSR1};
  for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++)
    if (sigaction(sigs[i], &sa, 0) != 0) _exit(122);
  alarm(10);
  raise(SIGUSR1);  // returns into the snippet
  _exit(123);
}

static int read_all(void* p, size_t n) { return fread(p, 1, n, stdin) == n; }
static void write_all(const void* p, size_t n) {
  if (fwrite(p, 1, n, stdout) != n) exit(4);
}

int main(void) {
  shared = mmap(0, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 2;
  uint32_t jobs;
  if (!read_all(&jobs, 4)) return 2;
  static uint8_t code[CODE_BYTES], buf[BUF_BYTES];
  for (uint32_t j = 0; j < jobs; j++) {
    uint32_t n;
    if (!read_all(&n, 4) || n > CODE_BYTES || !read_all(code, n) || !read_all(&in, sizeof in) ||
        !read_all(buf, BUF_BYTES))
      return 2;
    memset(shared, 0, sizeof *shared);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 3;
    if (pid == 0) child(code, n, buf);
    int status;
    if (waitpid(pid, &status, 0) != pid) return 3;
    int32_t result = (WIFEXITED(status) && WEXITSTATUS(status) == 0 && shared->done) ? 0 : (status ? status : -1);
    write_all(&result, 4);
    write_all(&shared->out, sizeof shared->out);
    write_all(shared->buf, BUF_BYTES);
  }
  fflush(stdout);
  return 0;
}
