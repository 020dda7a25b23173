/* Integer behaviour a RISC-V or A64 core must get exactly right: 64-bit and 32-bit (W-suffixed /
 * W-register) arithmetic, multiply-high, division edge cases (x/0, INT_MIN/-1, which both define
 * instead of trapping, differently), shifts, bit tricks, hashes, qsort and recursion. Every value
 * printed is deterministic; the division edge cases (and so the checksum and exit status) depend
 * on the architecture. */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* volatile sources keep the compiler from folding the edge cases at build time, so the guest CPU
 * (not gcc) computes them. */
static volatile int64_t v_i64[] = {0, 1, -1, 2, -2, 7, -7, INT64_MAX, INT64_MIN, 0x123456789abcdefLL,
                                   -0x123456789abcdefLL, 1000000007, 0x7fffffff, -0x80000000LL};
static volatile int32_t v_i32[] = {0, 1, -1, 3, -3, INT32_MAX, INT32_MIN, 0x12345678, -0x1234567};
#define N64 (sizeof v_i64 / sizeof v_i64[0])
#define N32 (sizeof v_i32 / sizeof v_i32[0])

static uint64_t checksum = 0xcbf29ce484222325ULL;
static void mix(uint64_t v) {
  for (int i = 0; i < 8; i++) {
    checksum ^= (v >> (8 * i)) & 0xff;
    checksum *= 0x100000001b3ULL;
  }
}

static uint64_t mulhu(uint64_t a, uint64_t b) { return (uint64_t)(((unsigned __int128)a * b) >> 64); }
static int64_t mulh(int64_t a, int64_t b) { return (int64_t)(((__int128)a * b) >> 64); }
static int64_t mulhsu(int64_t a, uint64_t b) { return (int64_t)(((__int128)a * (unsigned __int128)b) >> 64); }

static void arith64(void) {
  printf("== 64-bit arithmetic\n");
  for (size_t i = 0; i < N64; i++) {
    for (size_t j = 0; j < N64; j++) {
      int64_t a = v_i64[i], b = v_i64[j];
      uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
      /* Signed overflow is computed on unsigned values to stay defined in C. */
      uint64_t sum = ua + ub, diff = ua - ub, prod = ua * ub;
      int64_t q, r;
      uint64_t uq, ur;
      if (b == 0) {  /* RISC-V: x/0 = -1 (all ones), x%0 = x */
        volatile int64_t zero = 0;
        q = (b == zero) ? -1 : a / b;
        r = a;
        uq = UINT64_MAX;
        ur = ua;
      } else if (a == INT64_MIN && b == -1) {  /* RISC-V: overflow gives INT64_MIN, remainder 0 */
        q = INT64_MIN;
        r = 0;
        uq = ua / ub;
        ur = ua % ub;
      } else {
        q = a / b;
        r = a % b;
        uq = ua / ub;
        ur = ua % ub;
      }
      printf("%" PRId64 " %" PRId64 ": + %" PRIx64 " - %" PRIx64 " * %" PRIx64 " / %" PRId64 " %% %" PRId64
             " u/ %" PRIu64 " u%% %" PRIu64 " mulh %" PRIx64 " mulhu %" PRIx64 " mulhsu %" PRIx64 "\n",
             a, b, sum, diff, prod, q, r, uq, ur, (uint64_t)mulh(a, b), mulhu(ua, ub), (uint64_t)mulhsu(a, ub));
      mix(sum ^ diff ^ prod ^ (uint64_t)q ^ (uint64_t)r ^ uq ^ ur ^ mulhu(ua, ub));
    }
  }
}

/* Real division by the guest CPU (including the /0 and overflow cases), through noinline
 * functions with volatile operands: gcc cannot know the values, so it emits div/rem. Each result is
 * the whole 64-bit register the instructions wrote, so 32-bit forms show how they extend. */
#if defined(__riscv)
/* RISC-V: x/0 = -1, x%0 = x, INT_MIN/-1 = INT_MIN remainder 0; the W forms sign-extend. */
__attribute__((noinline)) static int64_t div_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("div %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static int64_t rem_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static uint64_t divu_rt(uint64_t a, uint64_t b) {
  uint64_t r;
  __asm__("divu %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static uint64_t remu_rt(uint64_t a, uint64_t b) {
  uint64_t r;
  __asm__("remu %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static int64_t divw_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("divw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static int64_t remw_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("remw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static int64_t divuw_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("divuw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static int64_t remuw_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("remuw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
__attribute__((noinline)) static int64_t mulw_rt(int64_t a, int64_t b) {
  int64_t r;
  __asm__("mulw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#elif defined(__aarch64__)
/* A64: x/0 = 0 (no trap), INT_MIN/-1 = INT_MIN; the remainder is a - (a/b)*b with msub, so x%0 = x;
 * the W forms zero-extend. The result is early-clobber: msub reads the operands after sdiv wrote it. */
#define A64_BINOP(name, type, insns)                          \
  __attribute__((noinline)) static type name(type a, type b) { \
    type r;                                                   \
    __asm__(insns : "=&r"(r) : "r"(a), "r"(b));               \
    return r;                                                 \
  }
A64_BINOP(div_rt, int64_t, "sdiv %x0, %x1, %x2")
A64_BINOP(rem_rt, int64_t, "sdiv %x0, %x1, %x2\n\tmsub %x0, %x0, %x2, %x1")
A64_BINOP(divu_rt, uint64_t, "udiv %x0, %x1, %x2")
A64_BINOP(remu_rt, uint64_t, "udiv %x0, %x1, %x2\n\tmsub %x0, %x0, %x2, %x1")
A64_BINOP(divw_rt, int64_t, "sdiv %w0, %w1, %w2")
A64_BINOP(remw_rt, int64_t, "sdiv %w0, %w1, %w2\n\tmsub %w0, %w0, %w2, %w1")
A64_BINOP(divuw_rt, int64_t, "udiv %w0, %w1, %w2")
A64_BINOP(remuw_rt, int64_t, "udiv %w0, %w1, %w2\n\tmsub %w0, %w0, %w2, %w1")
A64_BINOP(mulw_rt, int64_t, "mul %w0, %w1, %w2")
#elif defined(__x86_64__)
/* x86-64: division by zero and a quotient that does not fit (INT_MIN / -1) raise #DE, which
 * x86_divide_error below checks as a SIGFPE; here those pairs give the marker 0xde instead, and the
 * others run the real instructions. The 32-bit forms zero-extend. */
#define X86_DIV(name, type, narrow, min, setup, insn, result)                                          \
  __attribute__((noinline)) static type name(type a, type b) {                                      \
    if ((narrow)b == 0 || ((narrow)a == (min) && (narrow)b == -1)) return 0xde;                     \
    uint64_t ax = (uint64_t)a, dx;                                                                   \
    __asm__(setup "\n\t" insn " %2" : "+a"(ax), "=&d"(dx) : "r"(b));                               \
    return (type)(result);                                                                          \
  }
X86_DIV(div_rt, int64_t, int64_t, INT64_MIN, "cqo", "idivq", ax)
X86_DIV(rem_rt, int64_t, int64_t, INT64_MIN, "cqo", "idivq", dx)
X86_DIV(divu_rt, uint64_t, int64_t, 1, "xorl %%edx, %%edx", "divq", ax)
X86_DIV(remu_rt, uint64_t, int64_t, 1, "xorl %%edx, %%edx", "divq", dx)
X86_DIV(divw_rt, int64_t, int32_t, INT32_MIN, "cltd", "idivl %k2 #", ax)
X86_DIV(remw_rt, int64_t, int32_t, INT32_MIN, "cltd", "idivl %k2 #", dx)
X86_DIV(divuw_rt, int64_t, int32_t, 1, "xorl %%edx, %%edx", "divl %k2 #", ax)
X86_DIV(remuw_rt, int64_t, int32_t, 1, "xorl %%edx, %%edx", "divl %k2 #", dx)
__attribute__((noinline)) static int64_t mulw_rt(int64_t a, int64_t b) {
  uint64_t r = (uint64_t)a;
  __asm__("imull %k1, %k0" : "+r"(r) : "r"(b));
  return (int64_t)r;
}
#else
#error "integer.c: no division instructions for this architecture"
#endif

static void division_edges(void) {
  printf("== division edge cases (hardware semantics)\n");
  for (size_t i = 0; i < N64; i++) {
    for (size_t j = 0; j < N64; j++) {
      int64_t a = v_i64[i], b = v_i64[j];
      printf("div %" PRIx64 " %" PRIx64 " rem %" PRIx64 " %" PRIx64 " w %" PRIx64 " %" PRIx64 " %" PRIx64
             " %" PRIx64 " mulw %" PRIx64 "\n",
             (uint64_t)div_rt(a, b), (uint64_t)rem_rt(a, b), divu_rt((uint64_t)a, (uint64_t)b),
             remu_rt((uint64_t)a, (uint64_t)b), (uint64_t)divw_rt(a, b), (uint64_t)remw_rt(a, b),
             (uint64_t)divuw_rt(a, b), (uint64_t)remuw_rt(a, b), (uint64_t)mulw_rt(a, b));
      mix((uint64_t)div_rt(a, b) + (uint64_t)remw_rt(a, b));
    }
  }
}

static void arith32(void) {
  printf("== 32-bit arithmetic\n");
  for (size_t i = 0; i < N32; i++) {
    for (size_t j = 0; j < N32; j++) {
      int32_t a = v_i32[i], b = v_i32[j];
      uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
      uint32_t sum = ua + ub, prod = ua * ub;
      int32_t sh = (int32_t)(ua << (ub & 31));
      int32_t sra = a >> (ub & 31);
      uint32_t srl = ua >> (ub & 31);
      int64_t widened = (int64_t)(int32_t)sum; /* sign extension of a W result */
      printf("%d %d: %08x %08x sll %d sra %d srl %u sext %" PRId64 " cmp %d%d%d\n", a, b, sum, prod, sh, sra,
             srl, widened, a < b, ua < ub, a == b);
      mix(sum ^ prod ^ (uint32_t)sh ^ (uint32_t)sra ^ srl);
    }
  }
}

static void shifts(void) {
  printf("== shifts\n");
  volatile uint64_t x = 0x8123456789abcdefULL;
  for (volatile int s = 0; s < 64; s += 5) {
    uint64_t l = x << s, r = x >> s;
    int64_t ar = (int64_t)x >> s;
    uint64_t rotl = (x << s) | (x >> ((64 - s) & 63));
    printf("s=%2d sll %016" PRIx64 " srl %016" PRIx64 " sra %016" PRIx64 " rotl %016" PRIx64 "\n", (int)s, l, r,
           (uint64_t)ar, rotl);
    mix(l ^ r ^ (uint64_t)ar ^ rotl);
  }
}

static void bit_tricks(void) {
  printf("== bit tricks\n");
  uint64_t v = 0x0123456789abcdefULL;
  for (int i = 0; i < 40; i++) {
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t x = v >> (i % 13);
    printf("%016" PRIx64 " pop %2d clz %2d ctz %2d parity %d bswap %016" PRIx64 " lowbit %016" PRIx64
           " pow2 %d\n",
           x, __builtin_popcountll(x), x ? __builtin_clzll(x) : 64, x ? __builtin_ctzll(x) : 64,
           __builtin_parityll(x), __builtin_bswap64(x), x & (~x + 1), x && !(x & (x - 1)));
    mix(x);
  }
  /* reverse bits with the classic mask ladder */
  uint64_t r = 0xf0e1d2c3b4a59687ULL;
  r = ((r >> 1) & 0x5555555555555555ULL) | ((r & 0x5555555555555555ULL) << 1);
  r = ((r >> 2) & 0x3333333333333333ULL) | ((r & 0x3333333333333333ULL) << 2);
  r = ((r >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((r & 0x0f0f0f0f0f0f0f0fULL) << 4);
  r = __builtin_bswap64(r);
  printf("bitrev %016" PRIx64 "\n", r);
  mix(r);
}

static uint32_t crc32(const unsigned char *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

static uint32_t murmur3_32(const unsigned char *key, size_t len, uint32_t seed) {
  uint32_t h = seed;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t k;
    memcpy(&k, key + i, 4);
    k *= 0xcc9e2d51u;
    k = (k << 15) | (k >> 17);
    k *= 0x1b873593u;
    h ^= k;
    h = (h << 13) | (h >> 19);
    h = h * 5 + 0xe6546b64u;
  }
  uint32_t k = 0;
  switch (len & 3) {
    case 3: k ^= (uint32_t)key[i + 2] << 16; /* fall through */
    case 2: k ^= (uint32_t)key[i + 1] << 8; /* fall through */
    case 1:
      k ^= key[i];
      k *= 0xcc9e2d51u;
      k = (k << 15) | (k >> 17);
      k *= 0x1b873593u;
      h ^= k;
  }
  h ^= (uint32_t)len;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static void hashes(void) {
  printf("== hashes\n");
  static const char *words[] = {"", "a", "abc", "message digest", "The quick brown fox jumps over the lazy dog",
                                "riscv64", "vmkit emulates RISC-V user programs"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    const unsigned char *w = (const unsigned char *)words[i];
    size_t n = strlen(words[i]);
    printf("\"%s\": crc32 %08x murmur3 %08x\n", words[i], crc32(w, n), murmur3_32(w, n, 0x9747b28cu));
    mix(crc32(w, n));
  }
  unsigned char buf[4096];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 131 + (i >> 5));
  printf("crc32(4096 bytes) %08x\n", crc32(buf, sizeof buf));
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void sorting(void) {
  printf("== qsort\n");
  enum { N = 5000 };
  static int64_t arr[N];
  uint64_t s = 88172645463325252ULL;
  for (int i = 0; i < N; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    arr[i] = (int64_t)s >> (i % 40);
  }
  qsort(arr, N, sizeof arr[0], cmp_i64);
  int ok = 1;
  for (int i = 1; i < N; i++) ok &= arr[i - 1] <= arr[i];
  printf("sorted %d, first %" PRId64 " mid %" PRId64 " last %" PRId64 "\n", ok, arr[0], arr[N / 2], arr[N - 1]);
  for (int i = 0; i < N; i += 250) printf("arr[%d] = %" PRId64 "\n", i, arr[i]);
  for (int i = 0; i < N; i++) mix((uint64_t)arr[i]);
}

static uint64_t fib(int n) { return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2); }
static uint64_t ackermann(uint64_t m, uint64_t n) {
  if (m == 0) return n + 1;
  if (n == 0) return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}
static int hanoi_moves;
static void hanoi(int n, int from, int to, int via) {
  if (!n) return;
  hanoi(n - 1, from, via, to);
  hanoi_moves++;
  hanoi(n - 1, via, to, from);
}

static void recursion(void) {
  printf("== recursion\n");
  for (int i = 0; i <= 24; i += 4) printf("fib(%d) = %" PRIu64 "\n", i, fib(i));
  printf("ackermann(2, 3) = %" PRIu64 ", ackermann(3, 3) = %" PRIu64 "\n", ackermann(2, 3), ackermann(3, 3));
  hanoi(14, 0, 2, 1);
  printf("hanoi(14) moves = %d\n", hanoi_moves);
  mix(fib(20));
}

static void conversions(void) {
  printf("== widening and narrowing\n");
  volatile int64_t big = -0x1234567890LL;
  printf("i8 %d u8 %u i16 %d u16 %u i32 %d u32 %u\n", (int8_t)big, (uint8_t)big, (int16_t)big, (uint16_t)big,
         (int32_t)big, (uint32_t)big);
  volatile uint32_t u = 0xfffffff0u;
  printf("u32->i64 %" PRId64 " i32->i64 %" PRId64 "\n", (int64_t)u, (int64_t)(int32_t)u);
}

#if defined(__x86_64__)
#include <setjmp.h>
#include <signal.h>
/* #DE: a SIGFPE with FPE_INTDIV at the division, which leaves its registers unchanged. */
static sigjmp_buf de_jump;
static volatile int de_code;
static void *volatile de_addr;
static void on_fpe(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  de_code = si->si_code;
  de_addr = si->si_addr;
  siglongjmp(de_jump, 1);
}
extern char x86_idiv_insn[];
__attribute__((noipa)) static int64_t idiv_may_trap(int64_t a, int64_t b) {
  uint64_t ax = (uint64_t)a, dx;
  __asm__ volatile("cqo\n.globl x86_idiv_insn\nx86_idiv_insn: idivq %2" : "+a"(ax), "=&d"(dx) : "r"(b));
  return (int64_t)ax;
}
static void x86_divide_error(void) {
  printf("== x86 divide error\n");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, NULL);
  static const int64_t cases[][2] = {{7, 0}, {INT64_MIN, -1}, {-5, 0}, {-9, 2}};
  for (size_t i = 0; i < 4; i++) {
    volatile int64_t a = cases[i][0], b = cases[i][1];
    if (sigsetjmp(de_jump, 1) == 0) {
      printf("%" PRId64 " / %" PRId64 " = %" PRId64 "\n", (int64_t)a, (int64_t)b, idiv_may_trap(a, b));
    } else {
      printf("%" PRId64 " / %" PRId64 ": SIGFPE code %s at the idiv %d\n", (int64_t)a, (int64_t)b,
             de_code == FPE_INTDIV ? "FPE_INTDIV" : "other", de_addr == (void *)x86_idiv_insn);
    }
  }
  signal(SIGFPE, SIG_DFL);
}
#endif

int main(void) {
  arith64();
#if defined(__x86_64__)
  x86_divide_error();
#endif
  division_edges();
  arith32();
  shifts();
  bit_tricks();
  hashes();
  sorting();
  recursion();
  conversions();
  printf("checksum %016" PRIx64 "\n", checksum);
  /* The exit status carries part of the checksum, so a wrong result also shows in $?. */
  return (int)(checksum & 0x3f);
}
