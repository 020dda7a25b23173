/* Dies of SIGILL: executes a 32-bit all-zero word, which RISC-V defines as illegal and A64 as UDF #0
 * (permanently undefined). The word carries the global label fault_insn so tests can find its address
 * (the expected pc) with nm. */
#include <stdio.h>

#if !defined(__riscv) && !defined(__aarch64__)
#error "illegal.c: an all-zero word is not known to be illegal on this architecture"
#endif

int main(void) {
  printf("executing an illegal instruction\n");
  fflush(stdout);
  __asm__ volatile(".globl fault_insn\nfault_insn: .4byte 0");
  printf("still alive?\n");
  return 0;
}
