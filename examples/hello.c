/* A small RISC-V demo program for `vmkit run`: arguments, integer and floating-point math. */
#include <math.h>
#include <stdio.h>

int main(int argc, char **argv) {
  printf("hello from a riscv64 guest, %s!\n", argc > 1 ? argv[1] : "world");
  unsigned long long f = 1;
  for (int i = 1; i <= 20; i++) f *= i;
  printf("20! = %llu, sqrt(2) = %.15f, exp(1) = %.15f\n", f, sqrt(2.0), exp(1.0));
  return 0;
}
