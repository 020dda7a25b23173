/* long double as the guest computes it: x87 80-bit extended precision on x86-64, IEEE quad in
 * software on riscv64 and aarch64. printf in every format, strtold round trips, arithmetic, the
 * <math.h> l-functions, rounding under each fesetround mode, conversions to and from the integer and
 * other floating types, and the exception flags long double operations raise. Inputs are volatile
 * so the guest computes them, not gcc. Each architecture is compared with its own reference (the
 * host, or qemu-user), so the format's precision shows in the output. */
#include <fenv.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile long double v_ld[] = {0.0L, -0.0L, 1.0L, -1.5L, 0.1L, 2.5L, 3.5L, -2.5L, 1e-310L, 1e300L,
                                      123456.789L, -987654321.125L, 1e4000L, 1e-4940L, 0.49999999999999999995L,
                                      3.14159265358979323846264338327950288L};
#define NLD (sizeof v_ld / sizeof v_ld[0])

static void formatting(void) {
  printf("== printf (LDBL_MANT_DIG %d, LDBL_MAX_EXP %d)\n", LDBL_MANT_DIG, LDBL_MAX_EXP);
  for (size_t i = 0; i < NLD; i++) {
    long double x = v_ld[i];
    if (fabsl(x) < 1e20L)  /* (%Lf of 1e4000 is 4000 digits) */
      printf("%%Lf %Lf | ", x);
    printf("%%.4Le %.4Le | %%Lg %Lg | %%.18Lg %.18Lg | %%La %La\n", x, x, x, x);
  }
  volatile long double inf = INFINITY, nan = NAN;
  printf("special: %Lf %Lf %Lf %Le %Lg\n", inf, -inf, nan, inf, -inf);
  printf("widths: [%12.5Lf] [%-14.4Le] [%+Lg] [%010.3Lf]\n", (long double)v_ld[15], (long double)v_ld[10],
         1.0L / (long double)v_ld[3], (long double)v_ld[11]);
  printf("LDBL_MAX %.6Le LDBL_MIN %.6Le LDBL_EPSILON %.6Le\n", LDBL_MAX, LDBL_MIN, LDBL_EPSILON);
}

static void strtold_round_trips(void) {
  printf("== strtold\n");
  static const char* texts[] = {"0", "-0", "1", "0.1", "1e-4950", "1.18973149535723176502e+4932", "3.14159265358979323846",
                                "-2.5e-3", "123456789012345678901234567890", "0x1.8p3", "inf", "-nan", "1e5000", "abc"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    char* end;
    long double x = strtold(texts[i], &end);
    char buf[80];
    snprintf(buf, sizeof buf, "%.40Lg", x);
    long double back = strtold(buf, NULL);
    printf("%-32s -> %.21Lg consumed %d, round trip %s\n", texts[i], x, (int)(end - texts[i]),
           (back == x || (isnan(x) && isnan(back))) ? "same" : "DIFFERENT");
  }
}

static void arithmetic(void) {
  printf("== arithmetic\n");
  for (size_t i = 0; i + 1 < NLD; i++) {
    long double a = v_ld[i], b = v_ld[i + 1];
    printf("%.6Lg op %.6Lg: + %.20Lg - %.20Lg * %.20Lg / %.20Lg cmp %d%d%d%d\n", a, b, a + b, a - b, a * b, a / b, a < b,
           a <= b, a == b, isunordered(a, b));
  }
  volatile long double third = 1.0L / 3.0L;
  long double sum = 0;
  for (int i = 0; i < 1000; i++) sum += third * i;
  printf("sum %.21Lg\n", sum);
  /* 1 + epsilon/2 is 1 in long double: how many bits long double adds beyond double shows here. */
  volatile long double one = 1.0L;
  printf("1 + DBL_EPSILON/4 %s 1\n", one + (long double)DBL_EPSILON / 4 > one ? ">" : "==");
}

static void libm(void) {
  printf("== libm\n");
  static const long double xs[] = {-3.7L, -1.0L, -0.5L, 0.0L, 0.25L, 0.5L, 1.0L, 2.0L, 3.14159L, 10.0L, 100.5L};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    volatile long double x = xs[i];
    printf("x=%Lg sqrtl %.18Lg sinl %.18Lg cosl %.18Lg expl %.18Lg logl %.18Lg powl %.18Lg\n", x, sqrtl(fabsl(x)),
           sinl(x), cosl(x), expl(x), logl(fabsl(x) + 1e-300L), powl(fabsl(x), 1.0L / 3.0L + x / 7.0L));
    printf("   fmodl %.18Lg floorl %Lg ceill %Lg truncl %Lg roundl %Lg atan2l %.18Lg frexpl %.18Lg ldexpl %.18Lg\n",
           fmodl(x, 0.7L), floorl(x), ceill(x), truncl(x), roundl(x), atan2l(x, 1.5L), frexpl(x, &(int){0}),
           ldexpl(x, 100));
  }
}

static const char* mode_name(int mode) {
  switch (mode) {
    case FE_TONEAREST: return "nearest";
#ifdef FE_UPWARD
    case FE_UPWARD: return "upward";
#endif
#ifdef FE_DOWNWARD
    case FE_DOWNWARD: return "downward";
#endif
#ifdef FE_TOWARDZERO
    case FE_TOWARDZERO: return "toward zero";
#endif
  }
  return "?";
}

static void rounding(void) {
  printf("== rounding modes\n");
  static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  static const long double xs[] = {2.5L, 3.5L, -2.5L, -0.5L, 1.49999L, 7.0000001L, -7.9L};
  for (size_t m = 0; m < 4; m++) {
    if (fesetround(modes[m]) != 0) {
      printf("%s: not supported\n", mode_name(modes[m]));
      continue;
    }
    printf("%s:", mode_name(modes[m]));
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
      volatile long double x = xs[i];
      printf(" lrintl(%Lg)=%ld rintl=%Lg nearbyintl=%Lg", x, lrintl(x), rintl(x), nearbyintl(x));
    }
    volatile long double one = 1.0L, three = 3.0L;
    long double q = one / three;
    printf(" | 1/3 %.21Lg -1/3 %.21Lg sqrtl(2) %.21Lg\n", q, -one / three, sqrtl(one + one));
  }
  fesetround(FE_TONEAREST);
}

static void conversions(void) {
  printf("== conversions\n");
  static const long double xs[] = {0.0L, -0.9L, 1.5L, -1.5L, 2147483647.5L, -2147483648.0L, 9007199254740993.0L,
                                   9223372036854775807.0L, -9223372036854775808.0L, 1e19L, 18446744073709551615.0L,
                                   1e-320L, 3.4028235677973366e38L, 1.7976931348623157e308L};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    volatile long double x = xs[i];
    int32_t i32 = (x > -2147483649.0L && x < 2147483648.0L) ? (int32_t)x : 0;
    int64_t i64 = (x > -9223372036854775809.0L && x < 9223372036854775808.0L) ? (int64_t)x : 0;
    uint64_t u64 = (x > -1.0L && x < 18446744073709551616.0L) ? (uint64_t)x : 0;
    double d = (double)x;
    float f = (float)x;
    printf("%.21Lg -> i32 %" PRId32 " i64 %" PRId64 " u64 %" PRIu64 " double %.17g float %.9g\n", x, i32, i64, u64, d,
           (double)f);
  }
  static const int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 9007199254740993LL, -123456789};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    volatile int64_t v = ints[i];
    volatile uint64_t u = (uint64_t)ints[i];
    printf("i64 %" PRId64 " -> %.21Lg, u64 %" PRIu64 " -> %.21Lg\n", v, (long double)v, u, (long double)u);
  }
  volatile double d = 0.1;
  volatile float f = 0.1f;
  printf("double 0.1 -> %.21Lg, float 0.1 -> %.21Lg\n", (long double)d, (long double)f);
}

static void flags(const char* what, int raised) {
  printf("%-28s%s%s%s%s%s\n", what, raised & FE_INVALID ? " invalid" : "", raised & FE_DIVBYZERO ? " divbyzero" : "",
         raised & FE_OVERFLOW ? " overflow" : "", raised & FE_UNDERFLOW ? " underflow" : "",
         raised & FE_INEXACT ? " inexact" : "");
}

#define CHECK_FLAGS(what, expr)                                \
  do {                                                         \
    feclearexcept(FE_ALL_EXCEPT);                              \
    volatile long double r_ = (expr);                          \
    (void)r_;                                                  \
    flags(what, fetestexcept(FE_ALL_EXCEPT));                  \
  } while (0)

static void exceptions(void) {
  printf("== exception flags\n");
  volatile long double zero = 0.0L, one = 1.0L, three = 3.0L, big = LDBL_MAX, tiny = LDBL_MIN, inf = INFINITY;
  CHECK_FLAGS("1/0", one / zero);
  CHECK_FLAGS("0/0", zero / zero);
  CHECK_FLAGS("inf-inf", inf - inf);
  CHECK_FLAGS("1/3", one / three);
  CHECK_FLAGS("max*2", big * 2);
  CHECK_FLAGS("min/3", tiny / three);
  CHECK_FLAGS("sqrtl(-1)", sqrtl(-one));
  CHECK_FLAGS("1+1", one + one);
  CHECK_FLAGS("logl(0)", logl(zero));
  CHECK_FLAGS("(double)max", (double)big);
  feclearexcept(FE_ALL_EXCEPT);
  volatile long double nan = NAN;
  volatile int lt = nan < one;  /* ordered compare of a quiet NaN: invalid */
  flags("nan < 1", fetestexcept(FE_ALL_EXCEPT) | (lt ? 0x1000 : 0));
  feclearexcept(FE_ALL_EXCEPT);
  volatile int eq = nan == one;  /* quiet compare: no flag */
  flags("nan == 1", fetestexcept(FE_ALL_EXCEPT) | (eq ? 0x1000 : 0));
}

int main(void) {
  formatting();
  strtold_round_trips();
  arithmetic();
  libm();
  rounding();
  conversions();
  exceptions();
  return 0;
}
