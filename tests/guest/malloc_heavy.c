/* Allocator-heavy work, the way real programs stress brk/mmap: many mallocs/frees/reallocs of mixed
 * sizes (small bins, large mmap-backed blocks), a chained hash map with resizing, string building
 * with realloc growth, and sorting 100k heap-allocated records. Output is checksums and counts only,
 * never addresses. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static void churn(void) {
  printf("== malloc/free/realloc churn\n");
  enum { SLOTS = 2048 };
  static unsigned char *slot[SLOTS];
  static size_t size[SLOTS];
  uint64_t sum = 0;
  long allocs = 0, frees = 0, reallocs = 0, bad = 0;
  for (int step = 0; step < 20000; step++) {
    int i = (int)(rng() % SLOTS);
    uint64_t r = rng();
    if (slot[i] && (r & 3) == 0) {
      /* verify the fill pattern survived everything else that happened */
      for (size_t k = 0; k < size[i]; k += 61) bad += slot[i][k] != (unsigned char)i;
      free(slot[i]);
      slot[i] = NULL;
      frees++;
    } else if (slot[i] && (r & 3) == 1) {
      size_t ns = (r >> 8) % 3000 + 1;
      unsigned char *p = realloc(slot[i], ns);
      if (!p) return;
      size_t keep = ns < size[i] ? ns : size[i];
      for (size_t k = 0; k < keep; k += 61) bad += p[k] != (unsigned char)i;
      memset(p, i & 0xff, ns);
      slot[i] = p;
      size[i] = ns;
      reallocs++;
    } else if (!slot[i]) {
      /* mostly small, sometimes a large (mmap threshold sized) block */
      size_t ns = (r & 0x3f0) == 0 ? 200000 + (r >> 40) % 100000 : (r >> 8) % 512 + 1;
      unsigned char *p = (r & 8) ? calloc(1, ns) : malloc(ns);
      if (!p) return;
      if (r & 8)
        for (size_t k = 0; k < ns; k += 97) bad += p[k] != 0;
      memset(p, i & 0xff, ns);
      slot[i] = p;
      size[i] = ns;
      allocs++;
    }
  }
  for (int i = 0; i < SLOTS; i++) {
    if (slot[i]) {
      sum += size[i];
      free(slot[i]);
    }
  }
  printf("allocs %ld frees %ld reallocs %ld live bytes at end %" PRIu64 " corrupted %ld\n", allocs, frees, reallocs, sum,
         bad);
}

struct entry {
  char *key;
  long value;
  struct entry *next;
};
struct map {
  struct entry **buckets;
  size_t nbuckets, count;
};

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

static void map_grow(struct map *m) {
  size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
  struct entry **b = calloc(nb, sizeof *b);
  for (size_t i = 0; i < m->nbuckets; i++) {
    for (struct entry *e = m->buckets[i], *next; e; e = next) {
      next = e->next;
      size_t j = fnv1a(e->key) & (nb - 1);
      e->next = b[j];
      b[j] = e;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
}

static struct entry *map_find(struct map *m, const char *key) {
  if (!m->nbuckets) return NULL;
  for (struct entry *e = m->buckets[fnv1a(key) & (m->nbuckets - 1)]; e; e = e->next)
    if (strcmp(e->key, key) == 0) return e;
  return NULL;
}

static void map_add(struct map *m, const char *key, long delta) {
  struct entry *e = map_find(m, key);
  if (e) {
    e->value += delta;
    return;
  }
  if (m->count + 1 > m->nbuckets * 3 / 4) map_grow(m);
  e = malloc(sizeof *e);
  e->key = strdup(key);
  e->value = delta;
  size_t j = fnv1a(key) & (m->nbuckets - 1);
  e->next = m->buckets[j];
  m->buckets[j] = e;
  m->count++;
}

static int map_remove(struct map *m, const char *key) {
  struct entry **pp = &m->buckets[fnv1a(key) & (m->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      struct entry *e = *pp;
      *pp = e->next;
      free(e->key);
      free(e);
      m->count--;
      return 1;
    }
  }
  return 0;
}

static void hash_map(void) {
  printf("== hash map\n");
  struct map m = {0};
  char key[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(key, sizeof key, "k%" PRIu64, rng() % 15000);
    map_add(&m, key, i);
  }
  printf("distinct keys %zu buckets %zu\n", m.count, m.nbuckets);
  int removed = 0;
  for (int i = 0; i < 15000; i += 3) {
    snprintf(key, sizeof key, "k%d", i);
    removed += map_remove(&m, key);
  }
  long total = 0;
  size_t longest = 0;
  for (size_t i = 0; i < m.nbuckets; i++) {
    size_t len = 0;
    for (struct entry *e = m.buckets[i]; e; e = e->next, len++) total += e->value;
    if (len > longest) longest = len;
  }
  printf("removed %d left %zu sum of values %ld longest chain %zu\n", removed, m.count, total, longest);
  for (int i = 1; i < 15000; i += 1499) {
    snprintf(key, sizeof key, "k%d", i);
    struct entry *e = map_find(&m, key);
    printf("  %s -> %ld\n", key, e ? e->value : -1L);
  }
  for (size_t i = 0; i < m.nbuckets; i++) {
    for (struct entry *e = m.buckets[i], *next; e; e = next) {
      next = e->next;
      free(e->key);
      free(e);
    }
  }
  free(m.buckets);
}

static void strings(void) {
  printf("== string building\n");
  size_t cap = 16, len = 0;
  char *s = malloc(cap);
  s[0] = 0;
  for (int i = 0; i < 20000; i++) {
    char piece[48];
    int n = snprintf(piece, sizeof piece, "%d:%s;", i, (i % 7 == 0) ? "seven" : (i % 2 ? "odd" : "even"));
    if (len + (size_t)n + 1 > cap) {
      cap *= 2;
      s = realloc(s, cap);
    }
    memcpy(s + len, piece, (size_t)n + 1);
    len += (size_t)n;
  }
  printf("length %zu capacity %zu hash %016" PRIx64 "\n", len, cap, fnv1a(s));
  printf("head %.40s\n", s);
  printf("tail %s\n", s + len - 40);
  size_t sevens = 0;
  for (char *p = s; (p = strstr(p, "seven")) != NULL; p += 5) sevens++;
  printf("occurrences of 'seven' %zu\n", sevens);
  char *copy = strdup(s);
  char *tok, *save = NULL;
  size_t tokens = 0, odd = 0;
  for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
    tokens++;
    odd += strstr(tok, "odd") != NULL;
  }
  printf("tokens %zu odd %zu\n", tokens, odd);
  free(copy);
  free(s);
}

struct record {
  uint32_t key;
  uint32_t seq;
  char name[12];
};

static int cmp_record(const void *a, const void *b) {
  const struct record *x = *(const struct record *const *)a, *y = *(const struct record *const *)b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static void sort_records(void) {
  printf("== sort 100000 heap records\n");
  enum { N = 100000 };
  struct record **recs = malloc(N * sizeof *recs);
  for (uint32_t i = 0; i < N; i++) {
    recs[i] = malloc(sizeof **recs);
    recs[i]->key = (uint32_t)(rng() % 50000);
    recs[i]->seq = i;
    snprintf(recs[i]->name, sizeof recs[i]->name, "r%u", i);
  }
  qsort(recs, N, sizeof *recs, cmp_record);
  uint64_t h = 0;
  int ordered = 1;
  for (uint32_t i = 0; i < N; i++) {
    if (i) ordered &= cmp_record(&recs[i - 1], &recs[i]) < 0;
    h = h * 1000003 + recs[i]->key * 31 + recs[i]->seq;
  }
  printf("ordered %d hash %016" PRIx64 "\n", ordered, h);
  for (uint32_t i = 0; i < N; i += 12500) printf("  [%u] key %u seq %u %s\n", i, recs[i]->key, recs[i]->seq, recs[i]->name);
  for (uint32_t i = 0; i < N; i++) free(recs[i]);
  free(recs);
}

int main(void) {
  churn();
  hash_map();
  strings();
  sort_records();
  return 0;
}
