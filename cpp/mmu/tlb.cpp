// L2 TLB: set-associative, ASID/global-tagged translations, separate instruction and data tables.
#include "mmu/tlb.h"

#include <stdexcept>

namespace vmkit {

L2Tlb::L2Tlb(size_t sets) : sets_(sets) {
  if (sets == 0 || (sets & (sets - 1)) != 0) throw std::invalid_argument("L2Tlb: sets must be a power of two");
  for (Table& tbl : tables_) tbl.sets.resize(sets);
}

L2Tlb::Set& L2Tlb::set_for(Table& tbl, uint64_t va, unsigned level) {
  // The page number at the entry's own size; the level is mixed in so that the 4 KiB page and the
  // superpages containing it (which share low page-number bits) do not all crowd into set 0.
  const uint64_t page_number = va >> tlb_page_shift(level);
  const uint64_t index = (page_number ^ (static_cast<uint64_t>(level) * 0x9e37)) & (sets_ - 1);
  return tbl.sets[index];
}

std::optional<TlbTranslation> L2Tlb::lookup(TlbKind kind, uint64_t va, uint16_t asid) {
  Table& tbl = table(kind);
  ++tbl.stats.lookups;
  for (unsigned level = 0; level < kTlbLevels; ++level) {
    if (tbl.entries_per_level[level] == 0) continue;
    for (const Entry& e : set_for(tbl, va, level).ways) {
      if (e.valid && e.t.level == level && covers(e.t, va) && (e.t.global || e.t.asid == asid)) {
        ++tbl.stats.hits;
        return e.t;
      }
    }
  }
  ++tbl.stats.misses;
  return std::nullopt;
}

void L2Tlb::invalidate(Table& tbl, Entry& e) {
  e.valid = false;
  --tbl.entries_per_level[e.t.level];
}

void L2Tlb::fill(TlbKind kind, const TlbTranslation& t) {
  if (t.level >= kTlbLevels) throw std::invalid_argument("L2Tlb::fill: level out of range");
  Table& tbl = table(kind);
  Set& set = set_for(tbl, t.va_page, t.level);
  ++tbl.stats.fills;
  Entry* slot = nullptr;
  for (Entry& e : set.ways) {
    // Same page in the same address space: replace it rather than keep two answers.
    if (e.valid && e.t.level == t.level && e.t.va_page == t.va_page && e.t.global == t.global &&
        (t.global || e.t.asid == t.asid)) {
      slot = &e;
      break;
    }
  }
  if (slot == nullptr) {
    for (Entry& e : set.ways) {
      if (!e.valid) {
        slot = &e;
        break;
      }
    }
  }
  if (slot == nullptr) {
    slot = &set.ways[set.next_victim];
    set.next_victim = static_cast<uint8_t>((set.next_victim + 1) % kWays);
    ++tbl.stats.evictions;
  }
  if (slot->valid) invalidate(tbl, *slot);
  slot->t = t;
  slot->valid = true;
  ++tbl.entries_per_level[t.level];
}

void L2Tlb::flush_all() {
  for (Table& tbl : tables_) {
    ++tbl.stats.flushes_all;
    for (Set& set : tbl.sets)
      for (Entry& e : set.ways)
        if (e.valid) {
          invalidate(tbl, e);
          ++tbl.stats.entries_flushed;
        }
  }
}

void L2Tlb::flush_asid(uint16_t asid) {
  for (Table& tbl : tables_) {
    ++tbl.stats.flushes_asid;
    for (Set& set : tbl.sets)
      for (Entry& e : set.ways)
        if (e.valid && !e.t.global && e.t.asid == asid) {
          invalidate(tbl, e);
          ++tbl.stats.entries_flushed;
        }
  }
}

template <typename Pred>
void L2Tlb::flush_covering(uint64_t va, Pred drop) {
  for (Table& tbl : tables_) {
    for (unsigned level = 0; level < kTlbLevels; ++level) {
      if (tbl.entries_per_level[level] == 0) continue;
      for (Entry& e : set_for(tbl, va, level).ways)
        if (e.valid && e.t.level == level && covers(e.t, va) && drop(e.t)) {
          invalidate(tbl, e);
          ++tbl.stats.entries_flushed;
        }
    }
  }
}

void L2Tlb::flush_page(uint64_t va) {
  for (Table& tbl : tables_) ++tbl.stats.flushes_page;
  flush_covering(va, [](const TlbTranslation&) { return true; });
}

void L2Tlb::flush_page_asid(uint64_t va, uint16_t asid) {
  for (Table& tbl : tables_) ++tbl.stats.flushes_page_asid;
  flush_covering(va, [asid](const TlbTranslation& t) { return !t.global && t.asid == asid; });
}

size_t L2Tlb::valid_entries(TlbKind kind) const {
  const Table& tbl = table(kind);
  size_t n = 0;
  for (size_t c : tbl.entries_per_level) n += c;
  return n;
}

}  // namespace vmkit
