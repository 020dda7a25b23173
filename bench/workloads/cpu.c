/* An integer CPU benchmark for comparing vmkit with qemu-user and native runs: a mix of the work
 * real programs do, each phase sized by one iteration count from argv[1] (default 200) so the runner
 * can scale it.
 *   - linked lists: build, reverse and merge-sort lists of nodes in a pool (pointer chasing, branches)
 *   - integer matrix multiply (loads, multiplies, loop nests)
 *   - a byte-driven state machine (a tokenizer: table lookups, unpredictable branches)
 *   - CRC-32 and a 64-bit multiplicative hash over a buffer (shifts, xors, table lookups)
 * It prints one checksum per phase and a total; the same count always gives the same output on
 * every platform (no floating point, no addresses, no time). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x853c49e6748fea9bULL;
static uint32_t rng32(void) {
  /* PCG-XSH-RR: a fixed sequence on every platform */
  uint64_t old = rng_state;
  rng_state = old * 6364136223846793005ULL + 1442695040888963407ULL;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

/* ---- linked lists ---- */
struct node {
  uint32_t key;
  struct node *next;
};

static struct node *merge(struct node *a, struct node *b) {
  struct node head, *t = &head;
  while (a && b) {
    if (a->key <= b->key) {
      t->next = a;
      a = a->next;
    } else {
      t->next = b;
      b = b->next;
    }
    t = t->next;
  }
  t->next = a ? a : b;
  return head.next;
}

static struct node *merge_sort(struct node *list) {
  if (!list || !list->next) return list;
  struct node *slow = list, *fast = list->next;
  while (fast && fast->next) {
    slow = slow->next;
    fast = fast->next->next;
  }
  struct node *second = slow->next;
  slow->next = NULL;
  return merge(merge_sort(list), merge_sort(second));
}

static uint64_t lists(int iters) {
  enum { N = 20000 };
  struct node *pool = malloc(N * sizeof *pool);
  uint64_t sum = 0;
  for (int it = 0; it < iters; it++) {
    struct node *list = NULL;
    for (int i = 0; i < N; i++) {
      pool[i].key = rng32() % 100000;
      pool[i].next = list;
      list = &pool[i];
    }
    struct node *rev = NULL;  /* reverse in place */
    while (list) {
      struct node *n = list->next;
      list->next = rev;
      rev = list;
      list = n;
    }
    list = merge_sort(rev);
    uint64_t h = 0;
    uint32_t prev = 0;
    int ordered = 1;
    for (struct node *p = list; p; p = p->next) {
      ordered &= p->key >= prev;
      prev = p->key;
      h = h * 31 + p->key;
    }
    sum += h + (uint64_t)ordered;
  }
  free(pool);
  return sum;
}

/* ---- integer matrix multiply ---- */
static uint64_t matmul(int iters) {
  enum { M = 64 };
  static int32_t a[M][M], b[M][M], c[M][M];
  uint64_t sum = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++) {
      a[i][j] = (int32_t)(rng32() % 201) - 100;
      b[i][j] = (int32_t)(rng32() % 201) - 100;
    }
  for (int it = 0; it < iters; it++) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < M; j++) {
        int32_t s = 0;
        for (int k = 0; k < M; k++) s += a[i][k] * b[k][j];
        c[i][j] = s;
      }
    /* feed the result back so every iteration differs */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < M; j++) {
        sum += (uint32_t)c[i][j] * (uint64_t)(i + 1);
        a[i][j] = (c[i][j] >> 7) % 101;
      }
  }
  return sum;
}

/* ---- state machine: tokenize generated text into words, numbers, punctuation ---- */
enum cls { C_SPACE, C_ALPHA, C_DIGIT, C_PUNCT };
static uint64_t tokenizer(int iters) {
  enum { LEN = 1 << 16 };
  static unsigned char text[LEN];
  static const char alphabet[] = "abcdefghij klmnopqrstuvwxyz 0123456789 ,.;:!? \n\t";
  for (int i = 0; i < LEN; i++) text[i] = (unsigned char)alphabet[rng32() % (sizeof alphabet - 1)];
  unsigned char cls[256];
  for (int ch = 0; ch < 256; ch++)
    cls[ch] = (ch >= 'a' && ch <= 'z') ? C_ALPHA : (ch >= '0' && ch <= '9') ? C_DIGIT : (ch == ' ' || ch == '\n' || ch == '\t') ? C_SPACE : C_PUNCT;
  uint64_t words = 0, numbers = 0, puncts = 0, hash = 0;
  for (int it = 0; it < iters; it++) {
    enum { S_IDLE, S_WORD, S_NUMBER } state = S_IDLE;
    uint64_t value = 0, wordhash = 0;
    for (int i = 0; i < LEN; i++) {
      unsigned char ch = text[(i + it * 7) & (LEN - 1)];
      switch (state) {
        case S_IDLE:
          switch (cls[ch]) {
            case C_ALPHA: state = S_WORD; wordhash = ch; break;
            case C_DIGIT: state = S_NUMBER; value = ch - '0'; break;
            case C_PUNCT: puncts++; break;
            default: break;
          }
          break;
        case S_WORD:
          if (cls[ch] == C_ALPHA || cls[ch] == C_DIGIT) {
            wordhash = wordhash * 131 + ch;
          } else {
            words++;
            hash ^= wordhash + (hash << 6) + (hash >> 2);
            state = S_IDLE;
            puncts += cls[ch] == C_PUNCT;
          }
          break;
        case S_NUMBER:
          if (cls[ch] == C_DIGIT) {
            value = value * 10 + (ch - '0');
          } else if (cls[ch] == C_ALPHA) {
            state = S_WORD;  /* "12ab" becomes a word */
            wordhash = value;
          } else {
            numbers++;
            hash += value * 0x9e3779b97f4a7c15ULL;
            state = S_IDLE;
            puncts += cls[ch] == C_PUNCT;
          }
          break;
      }
    }
  }
  return hash ^ (words << 40) ^ (numbers << 20) ^ puncts;
}

/* ---- CRC-32 (table driven) and a 64-bit hash over a buffer ---- */
static uint64_t crc_hash(int iters) {
  enum { LEN = 1 << 17 };
  static uint8_t buf[LEN];
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    table[i] = c;
  }
  for (int i = 0; i < LEN; i++) buf[i] = (uint8_t)rng32();
  uint64_t acc = 0;
  for (int it = 0; it < iters; it++) {
    uint32_t crc = 0xffffffffu;
    for (int i = 0; i < LEN; i++) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i + 8 <= LEN; i += 8) {
      uint64_t w;
      memcpy(&w, buf + i, 8);
      h = (h ^ w) * 0x100000001b3ULL;
      h ^= h >> 29;
    }
    buf[it % LEN] ^= (uint8_t)crc;
    acc += (uint64_t)~crc + h;
  }
  return acc;
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 200;
  if (iters <= 0) {
    fprintf(stderr, "usage: %s [iterations > 0]\n", argv[0]);
    return 2;
  }
  uint64_t l = lists(iters), m = matmul(iters * 4), t = tokenizer(iters * 2), c = crc_hash(iters * 2);
  printf("lists     %016" PRIx64 "\n", l);
  printf("matmul    %016" PRIx64 "\n", m);
  printf("tokenizer %016" PRIx64 "\n", t);
  printf("crc/hash  %016" PRIx64 "\n", c);
  printf("checksum  %016" PRIx64 "\n", l ^ (m * 3) ^ (t * 5) ^ (c * 7));
  return 0;
}
