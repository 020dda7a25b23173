// Self-modifying code: generates a function into a writable and executable mapping, runs it hot
// (so a JIT compiles it), rewrites it in place and runs it again, many times; then patches one
// instruction of a function that has already run. The output must be the same as qemu's.
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

typedef long (*fn_t)(long);

// add_arg0(imm) encodes "add imm to the first argument register", which is also the return
// register; kRet returns to the caller.
#if defined(__riscv)
static uint32_t add_arg0(int imm) {  // addi a0, a0, imm
  return ((uint32_t)(imm & 0xfff) << 20) | (10u << 15) | (10u << 7) | 0x13u;
}
static const uint32_t kRet = 0x00008067;  // jalr zero, 0(ra)
#elif defined(__aarch64__)
static uint32_t add_arg0(int imm) {  // add x0, x0, #imm or sub x0, x0, #-imm (imm12, unshifted)
  uint32_t opcode = imm < 0 ? 0xd1000000u : 0x91000000u;
  uint32_t magnitude = (uint32_t)(imm < 0 ? -imm : imm) & 0xfff;
  return opcode | (magnitude << 10);  // Rn = Rd = 0: x0
}
static const uint32_t kRet = 0xd65f03c0;  // ret (x30)
#elif defined(__x86_64__)
// x86-64 in 4-byte slots: lea rdi, [rdi + imm8] (the immediate's low byte, sign-extended: 500
// adds -12, the same natively), and mov rax, rdi; ret.
static uint32_t add_arg0(int imm) { return 0x007f8d48u | ((uint32_t)(imm & 0xff) << 24); }
static const uint32_t kRet = 0xc3f88948;
#else
#error "smc.c: no instruction encoder for this architecture"
#endif

int main(void) {
  uint32_t* code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  long total = 0;
  for (int round = 0; round < 40; ++round) {
    code[0] = add_arg0(round);
    code[1] = add_arg0(3 * round + 1);
    code[2] = kRet;
    __builtin___clear_cache((char*)code, (char*)(code + 3));
    fn_t f = (fn_t)code;
    for (long k = 0; k < 200; ++k) total += f(k);
  }
  printf("rewritten function: total=%ld\n", total);

  // Patch only the second instruction of the hot function, without rewriting the rest.
  fn_t f = (fn_t)code;
  long before = f(1000);
  code[1] = add_arg0(-7);
  __builtin___clear_cache((char*)(code + 1), (char*)(code + 2));
  long after = f(1000);
  printf("patched: before=%ld after=%ld\n", before, after);

  // The same without a cache flush: the store itself must be noticed (qemu-user and vmkit
  // write-protect pages that hold translated code).
  code[1] = add_arg0(11);
  printf("patched without flush: %ld\n", f(1000));

  // New code loaded by read(2) from a pipe over the code that ran: the kernel writes the page,
  // which must not fail for the page's being write-protected, and the new code must run.
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  uint32_t fresh[3] = {add_arg0(500), add_arg0(1), kRet};
  if (write(fds[1], fresh, sizeof fresh) != (ssize_t)sizeof fresh) {
    perror("write");
    return 1;
  }
  ssize_t got = read(fds[0], code, sizeof fresh);
  __builtin___clear_cache((char*)code, (char*)(code + 3));
  printf("read into code: got=%zd result=%ld\n", got, f(1000));
  return 0;
}
