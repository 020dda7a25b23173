/* Dies of SIGSEGV by jumping to an address where nothing is mapped (an instruction fetch fault). */
#include <stdint.h>
#include <stdio.h>

int main(void) {
  printf("jumping to 0x5a5a5a5a000\n");
  fflush(stdout);
  void (*volatile target)(void) = (void (*)(void))(uintptr_t)0x5a5a5a5a000ULL;
  target();
  printf("still alive?\n");
  return 0;
}
