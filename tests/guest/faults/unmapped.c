/* Dies of SIGSEGV by storing to an address far from anything mapped. The store carries the global
 * label fault_insn so tests can find its address (the expected pc) with nm. */
#include <stdint.h>
#include <stdio.h>

int main(void) {
  printf("storing to 0x1234567000\n");
  fflush(stdout);
  uint64_t *target = (uint64_t *)(uintptr_t)0x1234567000ULL;
#if defined(__riscv)
  __asm__ volatile(".globl fault_insn\nfault_insn: sd %1, 0(%0)" : : "r"(target), "r"((uint64_t)42) : "memory");
#elif defined(__aarch64__)
  __asm__ volatile(".globl fault_insn\nfault_insn: str %1, [%0]" : : "r"(target), "r"((uint64_t)42) : "memory");
#elif defined(__x86_64__)
  __asm__ volatile(".globl fault_insn\nfault_insn: movq %1, (%0)" : : "r"(target), "r"((uint64_t)42) : "memory");
#else
#error "unmapped.c: no store instruction for this architecture"
#endif
  printf("still alive?\n");
  return 0;
}
