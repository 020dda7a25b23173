/* A program that ends with abort(): the process dies of SIGABRT (shell status 134), after flushing
 * nothing that is still buffered, so what it wrote before must be written explicitly. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("about to abort\n");
  fflush(stdout);
  abort();
}
