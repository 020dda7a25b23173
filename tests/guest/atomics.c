/* Atomic memory operations: C11 stdatomic and __atomic builtins on 8/16/32/64-bit objects.
 * On RISC-V (the A extension) 32/64-bit operations become AMO instructions or LR/SC loops; 8/16-bit
 * ones become masked LR/SC loops on the containing word (via libatomic with GCC 12), which exercises
 * neighbouring-byte preservation. On A64 they become calls to libgcc's outline atomics, which use the
 * LSE instructions when HWCAP says the CPU has them and LDXR/STXR loops otherwise. Single-threaded,
 * so every result is deterministic. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Each narrow atomic sits between guard bytes: a masked LR/SC that clobbers its neighbours shows. */
struct guarded8 {
  uint8_t before;
  _Atomic uint8_t v;
  uint8_t after[2];
};
struct guarded16 {
  uint16_t before;
  _Atomic uint16_t v;
  uint32_t after;
};

static _Atomic uint32_t a32;
static _Atomic uint64_t a64;
static _Atomic int64_t s64;
static _Atomic int32_t s32;

static void c11_ops(void) {
  printf("== C11 stdatomic\n");
  atomic_store(&a64, 0x0123456789abcdefULL);
  printf("fetch_add %016" PRIx64 " ", atomic_fetch_add(&a64, 0x1111111111111111ULL));
  printf("fetch_sub %016" PRIx64 " ", atomic_fetch_sub(&a64, 3));
  printf("fetch_and %016" PRIx64 " ", atomic_fetch_and(&a64, 0xff00ff00ff00ff00ULL));
  printf("fetch_or %016" PRIx64 " ", atomic_fetch_or(&a64, 0x0f));
  printf("fetch_xor %016" PRIx64 " ", atomic_fetch_xor(&a64, ~0ULL));
  printf("exchange %016" PRIx64 " now %016" PRIx64 "\n", atomic_exchange(&a64, 42), atomic_load(&a64));

  atomic_store(&a32, 0xfffffff0u);
  printf("u32 fetch_add %08x ", atomic_fetch_add(&a32, 0x20));  /* wraps */
  printf("now %08x ", atomic_load(&a32));
  printf("fetch_and %08x ", atomic_fetch_and(&a32, 0x13));
  printf("fetch_or %08x ", atomic_fetch_or(&a32, 0x80000000u));
  printf("fetch_xor %08x ", atomic_fetch_xor(&a32, 0xffffffffu));
  printf("exchange %08x now %08x\n", atomic_exchange(&a32, 0x80000001u), atomic_load(&a32));

  /* amoadd.w / amoswap.w results are sign-extended 32-bit values: check the signed view too. */
  atomic_store(&s32, -5);
  int32_t old = atomic_fetch_add(&s32, 3);
  printf("s32 fetch_add old %d now %d\n", old, atomic_load(&s32));
  atomic_store(&s32, INT32_MAX);
  old = atomic_fetch_add(&s32, 1);
  printf("s32 overflow old %d now %d (as i64 %" PRId64 ")\n", old, atomic_load(&s32), (int64_t)atomic_load(&s32));
}

static void cas_loops(void) {
  printf("== compare-exchange\n");
  atomic_store(&s64, 1);
  /* A CAS loop computing a running product, the way lock-free code updates a value. */
  for (int i = 2; i <= 20; i++) {
    int64_t cur = atomic_load(&s64), want;
    do {
      want = cur * i;
    } while (!atomic_compare_exchange_weak(&s64, &cur, want));
  }
  printf("20! via CAS %" PRId64 "\n", atomic_load(&s64));
  int64_t expected = 5;
  _Bool ok = atomic_compare_exchange_strong(&s64, &expected, 7);
  printf("strong cas with wrong expected: ok %d expected now %" PRId64 "\n", ok, expected);
  expected = atomic_load(&s64);
  ok = atomic_compare_exchange_strong(&s64, &expected, -7);
  printf("strong cas with right expected: ok %d value %" PRId64 "\n", ok, atomic_load(&s64));

  uint32_t e32 = 0xfffffff9u;  /* must compare as a 32-bit value after sign-extending lr.w */
  atomic_store(&a32, 0xfffffff9u);
  ok = atomic_compare_exchange_strong(&a32, &e32, 0x7fffffffu);
  printf("u32 cas high bit: ok %d value %08x\n", ok, atomic_load(&a32));
  /* Saturating increment implemented with CAS */
  atomic_store(&a32, 0xfffffffdu);
  for (int i = 0; i < 6; i++) {
    uint32_t c = atomic_load(&a32);
    while (c != 0xffffffffu && !atomic_compare_exchange_weak(&a32, &c, c + 1)) {
    }
    printf("sat %08x ", atomic_load(&a32));
  }
  printf("\n");
}

static void narrow(void) {
  printf("== 8 and 16 bit\n");
  struct guarded8 g8 = {0xaa, 0, {0xbb, 0xcc}};
  struct guarded16 g16 = {0x1234, 0, 0xdeadbeef};
  atomic_store(&g8.v, 250);
  for (int i = 0; i < 4; i++) printf("u8 fetch_add %u ", atomic_fetch_add(&g8.v, 3));
  printf("now %u\n", atomic_load(&g8.v));
  printf("u8 exchange %u ", atomic_exchange(&g8.v, 0x80));
  printf("fetch_or %02x fetch_and %02x fetch_xor %02x now %02x\n", atomic_fetch_or(&g8.v, 0x0f),
         atomic_fetch_and(&g8.v, 0xf3), atomic_fetch_xor(&g8.v, 0xff), atomic_load(&g8.v));
  uint8_t e8 = 0x7c;
  _Bool ok = atomic_compare_exchange_strong(&g8.v, &e8, 0x11);
  printf("u8 cas ok %d value %02x\n", ok, atomic_load(&g8.v));
  printf("guards8 %02x %02x %02x\n", g8.before, g8.after[0], g8.after[1]);

  atomic_store(&g16.v, 65530);
  for (int i = 0; i < 4; i++) printf("u16 fetch_add %u ", atomic_fetch_add(&g16.v, 4));
  printf("now %u\n", atomic_load(&g16.v));
  printf("u16 exchange %04x fetch_sub %04x ", atomic_exchange(&g16.v, 0x8001), atomic_fetch_sub(&g16.v, 2));
  uint16_t e16 = 0x1;
  ok = atomic_compare_exchange_strong(&g16.v, &e16, 0x2222);
  printf("cas(wrong) ok %d expected %04x ", ok, e16);
  ok = atomic_compare_exchange_strong(&g16.v, &e16, 0x2222);
  printf("cas(right) ok %d value %04x\n", ok, atomic_load(&g16.v));
  printf("guards16 %04x %08x\n", g16.before, g16.after);
}

static void builtins(void) {
  printf("== __atomic builtins\n");
  uint64_t x = 100;
  printf("add_fetch %" PRIu64 " ", __atomic_add_fetch(&x, 5, __ATOMIC_SEQ_CST));
  printf("sub_fetch %" PRIu64 " ", __atomic_sub_fetch(&x, 10, __ATOMIC_ACQ_REL));
  printf("nand_fetch %016" PRIx64 " ", __atomic_nand_fetch(&x, 0xf0, __ATOMIC_RELAXED));
  printf("fetch_nand %016" PRIx64 " now %016" PRIx64 "\n", __atomic_fetch_nand(&x, 0xff, __ATOMIC_RELAXED),
         __atomic_load_n(&x, __ATOMIC_ACQUIRE));
  int32_t y = -1;
  printf("i32 xchg %d ", __atomic_exchange_n(&y, 77, __ATOMIC_SEQ_CST));
  int32_t exp = 77;
  printf("cas %d y %d\n", __atomic_compare_exchange_n(&y, &exp, -77, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED), y);
  uint16_t h = 0xffff;
  printf("u16 add_fetch %u ", __atomic_add_fetch(&h, 1, __ATOMIC_SEQ_CST));
  uint8_t b = 0x7f;
  printf("u8 add_fetch %u or_fetch %u\n", __atomic_add_fetch(&b, 1, __ATOMIC_SEQ_CST),
         __atomic_or_fetch(&b, 0x01, __ATOMIC_SEQ_CST));
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  printf("lock free: 1 %d 2 %d 4 %d 8 %d\n", __atomic_always_lock_free(1, 0), __atomic_always_lock_free(2, 0),
         __atomic_always_lock_free(4, 0), __atomic_always_lock_free(8, 0));
}

/* Atomic min/max have no C11 spelling: use the instructions directly, signed and unsigned, 64-bit
 * and 32-bit. Each helper returns the old value as the instruction leaves it in its 64-bit register
 * (RISC-V sign-extends the old value of a word operation, A64 zero-extends it). */
#if defined(__riscv)
#define MINMAX_TITLE "amomin/amomax"
static inline int64_t fetch_min_i64(int64_t *mem, int64_t v) {
  int64_t old;
  __asm__ volatile("amomin.d %0, %2, (%1)" : "=r"(old) : "r"(mem), "r"(v) : "memory");
  return old;
}
static inline int64_t fetch_max_i64(int64_t *mem, int64_t v) {
  int64_t old;
  __asm__ volatile("amomax.d %0, %2, (%1)" : "=r"(old) : "r"(mem), "r"(v) : "memory");
  return old;
}
static inline int64_t fetch_min_u64(int64_t *mem, int64_t v) {
  int64_t old;
  __asm__ volatile("amominu.d %0, %2, (%1)" : "=r"(old) : "r"(mem), "r"(v) : "memory");
  return old;
}
static inline int64_t fetch_max_u64(int64_t *mem, int64_t v) {
  int64_t old;
  __asm__ volatile("amomaxu.d %0, %2, (%1)" : "=r"(old) : "r"(mem), "r"(v) : "memory");
  return old;
}
static inline int64_t fetch_min_i32(int32_t *mem, int64_t v) {
  int64_t old;
  __asm__ volatile("amomin.w %0, %2, (%1)" : "=r"(old) : "r"(mem), "r"(v) : "memory");
  return old;
}
static inline int64_t fetch_max_u32(int32_t *mem, int64_t v) {
  int64_t old;
  __asm__ volatile("amomaxu.w %0, %2, (%1)" : "=r"(old) : "r"(mem), "r"(v) : "memory");
  return old;
}
#elif defined(__aarch64__)
/* The LSE atomics (Armv8.1): LD<op> Rs, Rt, [Xn] stores op(mem, Rs) and returns the old value in Rt.
 * The default target is Armv8.0, so the helpers enable LSE themselves. */
#define MINMAX_TITLE "ldsmin/ldsmax/ldumin/ldumax (LSE)"
#define LSE_FETCH(name, mem_t, insn)                                                  \
  __attribute__((target("+lse"))) static inline int64_t name(mem_t *mem, int64_t v) { \
    int64_t old;                                                                      \
    __asm__ volatile(insn : "=r"(old) : "r"(mem), "r"(v) : "memory");                 \
    return old;                                                                       \
  }
LSE_FETCH(fetch_min_i64, int64_t, "ldsmin %x2, %x0, [%1]")
LSE_FETCH(fetch_max_i64, int64_t, "ldsmax %x2, %x0, [%1]")
LSE_FETCH(fetch_min_u64, int64_t, "ldumin %x2, %x0, [%1]")
LSE_FETCH(fetch_max_u64, int64_t, "ldumax %x2, %x0, [%1]")
LSE_FETCH(fetch_min_i32, int32_t, "ldsmin %w2, %w0, [%1]")
LSE_FETCH(fetch_max_u32, int32_t, "ldumax %w2, %w0, [%1]")
#elif defined(__x86_64__)
/* x86-64 has no atomic min/max: a lock cmpxchg loop, which leaves the old value in rax (a 32-bit
 * cmpxchg zero-extends it). */
#define MINMAX_TITLE "lock cmpxchg min/max loops"
#define CMPXCHG_FETCH(name, mem_t, size, better)                                                   \
  static inline int64_t name(mem_t *mem, int64_t v) {                                            \
    uint64_t old = (uint64_t)(int64_t)*mem;                                                      \
    for (;;) {                                                                                   \
      mem_t cur = (mem_t)old, want = (mem_t)v;                                                   \
      mem_t next = (better) ? want : cur;                                                         \
      uint8_t ok;                                                                                \
      __asm__ volatile("lock cmpxchg" size " %3, %1\n\tsete %2"                                  \
                       : "+a"(old), "+m"(*mem), "=q"(ok)                                          \
                       : "r"(next)                                                               \
                       : "memory", "cc");                                                        \
      if (ok) return (int64_t)old;                                                               \
    }                                                                                            \
  }
CMPXCHG_FETCH(fetch_min_i64, int64_t, "q", want < cur)
CMPXCHG_FETCH(fetch_max_i64, int64_t, "q", want > cur)
CMPXCHG_FETCH(fetch_min_u64, int64_t, "q", (uint64_t)want < (uint64_t)cur)
CMPXCHG_FETCH(fetch_max_u64, int64_t, "q", (uint64_t)want > (uint64_t)cur)
CMPXCHG_FETCH(fetch_min_i32, int32_t, "l", want < cur)
CMPXCHG_FETCH(fetch_max_u32, int32_t, "l", (uint32_t)want > (uint32_t)cur)
#else
#error "atomics.c: no atomic min/max instructions for this architecture"
#endif

static void amo_minmax(void) {
  printf("== " MINMAX_TITLE "\n");
  static const int64_t vals[] = {5, -3, 0x7fffffffffffffffLL, -0x7fffffffffffffffLL - 1, 17, -1};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    int64_t mem_min = 0, mem_max = 0, mem_minu = 0x100, mem_maxu = 0x100;
    int64_t v = vals[i];
    fetch_min_i64(&mem_min, v);
    fetch_max_i64(&mem_max, v);
    fetch_min_u64(&mem_minu, v);
    fetch_max_u64(&mem_maxu, v);
    int32_t w_min = 0, w_maxu = 0x100;
    fetch_min_i32(&w_min, v);
    int64_t oldw = fetch_max_u32(&w_maxu, v);
    printf("%" PRId64 ": min %" PRId64 " max %" PRId64 " minu %" PRIx64 " maxu %" PRIx64 " min.w %d maxu.w %08x old.w %"
           PRId64 "\n",
           v, mem_min, mem_max, (uint64_t)mem_minu, (uint64_t)mem_maxu, w_min, (uint32_t)w_maxu, oldw);
  }
}

int main(void) {
  c11_ops();
  cas_loops();
  narrow();
  builtins();
  amo_minmax();
  return 0;
}
