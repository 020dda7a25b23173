/* Returning 42 from main: the status reaches the parent through __libc_start_main's exit. */
#include <stdio.h>

int main(void) {
  for (int i = 0; i < 10; i++) printf("%d squared is %d\n", i, i * i);
  return 42;
}
