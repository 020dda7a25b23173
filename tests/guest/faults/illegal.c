/* Dies of SIGILL: executes a 32-bit all-zero word, which RISC-V defines as illegal. The word carries
 * the global label fault_insn so tests can find its address (the expected pc) with nm. */
#include <stdio.h>

int main(void) {
  printf("executing an illegal instruction\n");
  fflush(stdout);
  __asm__ volatile(".globl fault_insn\nfault_insn: .4byte 0");
  printf("still alive?\n");
  return 0;
}
