/* Dies of SIGILL: executes a 32-bit all-zero word, which RISC-V defines as illegal and A64 as UDF #0
 * (permanently undefined), or x86-64's ud2. The instruction carries the global label fault_insn so
 * tests can find its address (the expected pc) with nm. */
#include <stdio.h>

#if defined(__riscv) || defined(__aarch64__)
#define ILLEGAL_INSN ".4byte 0"
#elif defined(__x86_64__)
#define ILLEGAL_INSN "ud2"
#else
#error "illegal.c: no instruction known to be illegal on this architecture"
#endif

int main(void) {
  printf("executing an illegal instruction\n");
  fflush(stdout);
  __asm__ volatile(".globl fault_insn\nfault_insn: " ILLEGAL_INSN);
  printf("still alive?\n");
  return 0;
}
