/* exit(3) with atexit handlers (they print in reverse registration order) and buffered output that
 * exit() must flush; the status comes out of a recursion so it is computed, not a constant. */
#include <stdio.h>
#include <stdlib.h>

static void first(void) { printf("atexit: registered first, runs last\n"); }
static void second(void) { printf("atexit: registered second, runs first\n"); }

static int status_from_depth(int n) { return n == 0 ? 3 : status_from_depth(n - 1); }

int main(void) {
  atexit(first);
  atexit(second);
  printf("exiting with 3 (buffered, flushed by exit)\n");
  exit(status_from_depth(10));
}
