/* Floating point as the guest sees it (RISC-V F and D extensions, A64 scalar FP): printf of doubles in
 * every format, libm, fused multiply-add, the dynamic rounding mode (fesetround -> frm / FPCR.RMode),
 * exception flags (fflags / FPSR), float <-> int conversions including the architecture's saturating
 * out-of-range and NaN results, NaN boxing of floats (RISC-V), and min/max/classify. Inputs are
 * volatile so the guest CPU computes them, not gcc. */
#include <fenv.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double v_d[] = {0.0, -0.0, 1.0, -1.5, 0.1, 2.5, 3.5, -2.5, 1e-310, 1e300, 123456.789,
                                -987654321.125, 4.9406564584124654e-324, DBL_MAX, 0.49999999999999994};
static volatile float v_f[] = {0.0f, -0.0f, 1.0f, -1.5f, 0.1f, 2.5f, 3.4e38f, 1e-40f, 16777217.0f, -7.75f};
#define ND (sizeof v_d / sizeof v_d[0])
#define NF (sizeof v_f / sizeof v_f[0])

static uint64_t bits_d(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}
static uint32_t bits_f(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static void formatting(void) {
  printf("== printf formats\n");
  for (size_t i = 0; i < ND; i++) {
    double d = v_d[i];
    printf("%%f %f | %%.3e %.3e | %%g %g | %%.17g %.17g | %%a %a | bits %016" PRIx64 "\n", d, d, d, d, d, bits_d(d));
  }
  printf("special: %f %f %f %e %g %a\n", INFINITY, -INFINITY, NAN, INFINITY, -NAN, INFINITY);
  printf("widths: [%10.4f] [%-12.3e] [%+g] [%08.2f]\n", M_PI, M_E, 1.0 / 3.0, -2.718281828);
}

static void libm(void) {
  printf("== libm\n");
  static const double xs[] = {-3.7, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 3.14159, 10.0, 100.5};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    volatile double x = xs[i];
    printf("x=%g sin %.17g cos %.17g tan %.17g exp %.17g log %.17g pow %.17g sqrt %.17g atan2 %.17g cbrt %.17g\n", x,
           sin(x), cos(x), tan(x), exp(x), log(fabs(x) + 1e-300), pow(fabs(x), 1.0 / 3.0 + x / 7.0), sqrt(fabs(x)),
           atan2(x, 1.5), cbrt(x));
    printf("   floor %g ceil %g trunc %g round %g rint %g nearbyint %g fmod %.17g hypot %.17g\n", floor(x), ceil(x),
           trunc(x), round(x), rint(x), nearbyint(x), fmod(x, 0.7), hypot(x, 2.0));
  }
  volatile float xf = 0.75f;
  printf("sinf %.9g expf %.9g logf %.9g sqrtf %.9g powf %.9g\n", sinf(xf), expf(xf), logf(xf), sqrtf(xf),
         powf(xf, 2.5f));
}

static void fused(void) {
  printf("== fma\n");
  volatile double a = 1.0 + DBL_EPSILON, b = 1.0 - DBL_EPSILON, c = -1.0;
  /* fma rounds once: the tiny product term survives, a*b+c rounded twice loses it. */
  printf("fma %a mul-add %a\n", fma(a, b, c), a * b + c);
  volatile float af = 1.0f + FLT_EPSILON, bf = 1.0f - FLT_EPSILON, cf = -1.0f;
  printf("fmaf %a\n", (double)fmaf(af, bf, cf));
  for (size_t i = 0; i + 2 < ND; i++) {
    double r = fma(v_d[i], v_d[i + 1], v_d[i + 2]);
    printf("fma(%g,%g,%g) = %.17g\n", v_d[i], v_d[i + 1], v_d[i + 2], r);
  }
  volatile double x = 3.0, y = 5.0, z = 7.0;
  printf("fnmadd %.17g fmsub %.17g fnmsub %.17g\n", -fma(x, y, z), fma(x, y, -z), -fma(x, y, -z));
}

static const char *mode_name(int m) {
  switch (m) {
    case FE_TONEAREST: return "nearest";
    case FE_UPWARD: return "upward";
    case FE_DOWNWARD: return "downward";
    case FE_TOWARDZERO: return "towardzero";
  }
  return "?";
}

static void rounding(void) {
  printf("== rounding modes\n");
  static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  volatile double one = 1.0, three = 3.0, big = 1e16;
  for (int i = 0; i < 4; i++) {
    if (fesetround(modes[i]) != 0) {
      printf("fesetround(%s) failed\n", mode_name(modes[i]));
      continue;
    }
    double q = one / three, nq = -one / three;
    double s = big + 1.0;
    float ff = (float)(one / three);
    printf("%s (fegetround=%s): 1/3 %a -1/3 %a 1e16+1 %.17g (float)1/3 %a rint(2.5) %g rint(-2.5) %g lrint(3.5) "
           "%ld sqrt(2) %a\n",
           mode_name(modes[i]), mode_name(fegetround()), q, nq, s, (double)ff, rint(2.5), rint(-2.5), lrint(3.5),
           sqrt(2.0 * one));
  }
  fesetround(FE_TONEAREST);
}

static void flags(void) {
  printf("== exception flags\n");
  volatile double zero = 0.0, one = 1.0, tiny = DBL_MIN, big = DBL_MAX;
  feclearexcept(FE_ALL_EXCEPT);
  volatile double r = one / zero;
  printf("1/0 = %g divbyzero %d\n", r, !!fetestexcept(FE_DIVBYZERO));
  feclearexcept(FE_ALL_EXCEPT);
  r = zero / zero;
  printf("0/0 = %g invalid %d\n", r, !!fetestexcept(FE_INVALID));
  feclearexcept(FE_ALL_EXCEPT);
  r = big * 2.0;
  printf("max*2 = %g overflow %d inexact %d\n", r, !!fetestexcept(FE_OVERFLOW), !!fetestexcept(FE_INEXACT));
  feclearexcept(FE_ALL_EXCEPT);
  r = tiny / 1e10;
  printf("min/1e10 = %g underflow %d\n", r, !!fetestexcept(FE_UNDERFLOW));
  feclearexcept(FE_ALL_EXCEPT);
  r = one + one;
  printf("1+1 = %g any flag %d\n", r, !!fetestexcept(FE_ALL_EXCEPT));
  feclearexcept(FE_ALL_EXCEPT);
  r = sqrt(-one);
  printf("sqrt(-1) = %g invalid %d\n", r, !!fetestexcept(FE_INVALID));
}

/* C leaves out-of-range and NaN float -> int conversions undefined, so they are done with explicit
 * instructions, rounding toward zero, and each result is the whole 64-bit register the instruction
 * wrote. */
#if defined(__riscv)
/* RISC-V fcvt saturates out-of-range values and maps NaN to the maximum; the W forms sign-extend. */
#define CVT(name, insn, outt, in_t)                        \
  __attribute__((noinline)) static outt name(in_t x) {                   \
    outt r;                                                              \
    __asm__(insn " %0, %1, rtz" : "=r"(r) : "f"(x));                     \
    return r;                                                            \
  }
CVT(cvt_l_d, "fcvt.l.d", int64_t, double)
CVT(cvt_lu_d, "fcvt.lu.d", uint64_t, double)
CVT(cvt_w_d, "fcvt.w.d", int64_t, double)
CVT(cvt_wu_d, "fcvt.wu.d", int64_t, double)
CVT(cvt_l_s, "fcvt.l.s", int64_t, float)
CVT(cvt_w_s, "fcvt.w.s", int64_t, float)
#elif defined(__aarch64__)
/* A64 fcvtzs/fcvtzu saturate out-of-range values and map NaN to 0; the W forms zero-extend. */
#define CVT(name, insn, outt, in_t)                    \
  __attribute__((noinline)) static outt name(in_t x) { \
    outt r;                                            \
    __asm__(insn : "=r"(r) : "w"(x));                  \
    return r;                                          \
  }
CVT(cvt_l_d, "fcvtzs %x0, %d1", int64_t, double)
CVT(cvt_lu_d, "fcvtzu %x0, %d1", uint64_t, double)
CVT(cvt_w_d, "fcvtzs %w0, %d1", int64_t, double)
CVT(cvt_wu_d, "fcvtzu %w0, %d1", int64_t, double)
CVT(cvt_l_s, "fcvtzs %x0, %s1", int64_t, float)
CVT(cvt_w_s, "fcvtzs %w0, %s1", int64_t, float)
#elif defined(__x86_64__)
/* x86-64 cvttsd2si/cvttss2si give the "integer indefinite" (the sign bit alone) for NaN and
 * out-of-range values. SSE has no unsigned conversion: the "lu"/"wu" forms use the 64-bit signed
 * one, whose low 32 bits are the wu result (the whole register, zero-extended by the 32-bit write). */
#define CVT(name, insn, outt, in_t)                    \
  __attribute__((noinline)) static outt name(in_t x) { \
    outt r;                                            \
    __asm__(insn : "=r"(r) : "x"(x));                  \
    return r;                                          \
  }
CVT(cvt_l_d, "cvttsd2si %1, %q0", int64_t, double)
CVT(cvt_lu_d, "cvttsd2si %1, %q0", uint64_t, double)
CVT(cvt_w_d, "cvttsd2si %1, %k0", int64_t, double)
CVT(cvt_wu_d, "cvttsd2si %1, %q0\n\tmovl %k0, %k0", int64_t, double)
CVT(cvt_l_s, "cvttss2si %1, %q0", int64_t, float)
CVT(cvt_w_s, "cvttss2si %1, %k0", int64_t, float)
#else
#error "float.c: no float -> int conversion instructions for this architecture"
#endif

static void conversions(void) {
  printf("== float <-> int conversions\n");
  static const double ds[] = {0.0, -0.9, 0.9, 2.5, -2.5, 1e10, -1e10, 9.3e18, -9.3e18, 2e19, 4294967296.5, -1.0,
                              INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    volatile double d = ds[i];
    volatile float f = (float)d;
    printf("%g: l %" PRId64 " lu %" PRIu64 " w %" PRId64 " wu %" PRIx64 " | float %g: l %" PRId64 " w %" PRId64 "\n", d,
           cvt_l_d(d), cvt_lu_d(d), cvt_w_d(d), (uint64_t)cvt_wu_d(d), (double)f, cvt_l_s(f), cvt_w_s(f));
  }
  static const int64_t is[] = {0, 1, -1, INT64_MAX, INT64_MIN, 9007199254740993LL, 16777217, -123456789};
  for (size_t i = 0; i < sizeof is / sizeof is[0]; i++) {
    volatile int64_t v = is[i];
    volatile uint64_t u = (uint64_t)is[i];
    volatile int32_t w = (int32_t)is[i];
    printf("%" PRId64 ": d %.17g du %.17g f %.9g fu %.9g w->d %.17g w->f %.9g\n", v, (double)v, (double)u,
           (double)(float)v, (double)(float)u, (double)w, (double)(float)w);
  }
  volatile double dd = 1.0 / 3.0;
  volatile float narrowed = (float)dd;
  volatile double widened = narrowed;
  printf("d->f->d %a %a\n", (double)narrowed, widened);
}

static void minmax_classify(void) {
  printf("== min/max/compare/classify\n");
  for (size_t i = 0; i < NF; i++) {
    for (size_t j = 0; j < NF; j += 3) {
      float a = v_f[i], b = v_f[j];
      printf("%g %g: fmin %g fmax %g lt %d le %d eq %d sign %g\n", (double)a, (double)b, (double)fminf(a, b),
             (double)fmaxf(a, b), a < b, a <= b, a == b, (double)copysignf(a, b));
    }
  }
  volatile double qnan = NAN, m0 = -0.0, p0 = 0.0;
  printf("fmin(nan,1) %g fmax(1,nan) %g fmin(-0,0) %g fmax(-0,0) %g\n", fmin(qnan, 1.0), fmax(1.0, qnan),
         fmin(m0, p0), fmax(m0, p0));
  for (size_t i = 0; i < ND; i++) {
    double d = v_d[i];
    printf("%g: fpclassify %d isnormal %d signbit %d isinf %d\n", d, fpclassify(d), isnormal(d), !!signbit(d),
           isinf(d));
  }
  volatile float nf = NAN;
  printf("nan float bits %08x (canonical NaN expected from arithmetic: %08x)\n", bits_f(nf), bits_f(nf * 1.0f));
  printf("0/0 double bits %016" PRIx64 "\n", bits_d(p0 / p0));
}

static void accumulate(void) {
  printf("== accumulation\n");
  double s = 0, k = 0;
  float sf = 0;
  for (int i = 1; i <= 20000; i++) {
    double t = 1.0 / ((double)i * i);
    double y = t - k, u = s + y;
    k = (u - s) - y;
    s = u;
    sf += 1.0f / (float)i;
  }
  printf("sum 1/i^2 (Kahan) %.17g (pi^2/6 %.17g) harmonic float %.9g\n", s, M_PI * M_PI / 6, (double)sf);
  double m[3][3] = {{2, -1, 0}, {-1, 2, -1}, {0, -1, 2}}, v[3] = {1, 1, 1};
  for (int it = 0; it < 50; it++) {
    double w[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) w[i] += m[i][j] * v[j];
    double n = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    for (int i = 0; i < 3; i++) v[i] = w[i] / n;
  }
  printf("power iteration eigenvector %.15f %.15f %.15f\n", v[0], v[1], v[2]);
}

int main(void) {
  formatting();
  libm();
  fused();
  rounding();
  flags();
  conversions();
  minmax_classify();
  accumulate();
  return 0;
}
