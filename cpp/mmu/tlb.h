// The architecture-neutral second-level TLB of system mode's software MMU (plan §2.3): translations
// tagged with an address-space id and a global bit, kept across satp/TTBR writes so that an OS that
// switches address spaces without flushing (Linux's ASID allocator) does not walk again after each
// context switch. The per-access fast path (L1 tables with host addends) sits in front of it and
// is not part of this class.
//
// Instruction and data translations live in separate tables (TlbKind), so code fetches do not
// evict data entries and each side has its own statistics.
//
// Each table is set associative (4 ways) and indexed by virtual page number at the entry's own
// page size: a superpage lives in the set chosen by va >> its page shift, and a lookup probes one
// set per page size that the table currently holds, smallest first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace vmkit {

enum class TlbKind : uint8_t { Instruction = 0, Data = 1 };

// Permission bits of a translation, independent of any architecture's PTE layout.
enum TlbPerm : uint8_t {
  kTlbRead = 1,
  kTlbWrite = 2,
  kTlbExec = 4,
  kTlbUser = 8,  // accessible from the least privileged mode
};

// Page sizes as levels of a 4 KiB-granule, 512-entry-per-table radix tree (RISC-V Sv39/Sv48,
// AArch64 4K granule and x86-64 all have this shape): level L maps 4 KiB << (9 × L).
constexpr unsigned kTlbLevels = 4;  // 4 KiB, 2 MiB, 1 GiB, 512 GiB
constexpr unsigned tlb_page_shift(unsigned level) { return 12 + 9 * level; }

struct TlbTranslation {
  uint64_t va_page = 0;  // virtual address of the start of the page (aligned to its size)
  uint64_t pa_page = 0;  // physical address of the start of the page
  uint8_t level = 0;     // page size, see tlb_page_shift
  uint8_t perm = 0;      // TlbPerm bits
  bool global = false;   // matches in every address space
  bool dirty = false;    // stores may use it without walking again (to set D)
  uint16_t asid = 0;     // address space it belongs to (ignored when global)

  uint64_t page_size() const { return 1ull << tlb_page_shift(level); }
  uint64_t translate(uint64_t va) const { return pa_page | (va & (page_size() - 1)); }
};

// Counters per table. Invariants: lookups == hits + misses, and every flush is counted by kind.
struct TlbStats {
  uint64_t lookups = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t fills = 0;
  uint64_t evictions = 0;           // fills that displaced a valid entry of another page
  uint64_t flushes_all = 0;         // SFENCE.VMA x0, x0
  uint64_t flushes_asid = 0;        // SFENCE.VMA x0, asid
  uint64_t flushes_page = 0;        // SFENCE.VMA va, x0
  uint64_t flushes_page_asid = 0;   // SFENCE.VMA va, asid
  uint64_t entries_flushed = 0;     // valid entries dropped by all the flushes together
};

class L2Tlb {
 public:
  static constexpr unsigned kWays = 4;

  // `sets` per table (a power of two); the default gives 4096 entries for each of I and D.
  explicit L2Tlb(size_t sets = 1024);

  // The translation covering va in address space `asid` (or a global one), counted as a hit or
  // a miss of that table.
  std::optional<TlbTranslation> lookup(TlbKind kind, uint64_t va, uint16_t asid);

  // Inserts a translation (va_page aligned to its level). An entry for the same page, level and
  // address space is replaced in place (for example a read fill upgraded to dirty by a store);
  // otherwise a free way is used, else the set's ways are replaced in turn.
  void fill(TlbKind kind, const TlbTranslation& t);

  // The four SFENCE.VMA forms, applied to both tables (counted once, in each table's stats).
  void flush_all();
  void flush_asid(uint16_t asid);           // non-global entries of asid; globals stay
  void flush_page(uint64_t va);             // every entry covering va, any asid, global or not
  void flush_page_asid(uint64_t va, uint16_t asid);  // asid's non-global entries covering va

  const TlbStats& stats(TlbKind kind) const { return table(kind).stats; }
  size_t valid_entries(TlbKind kind) const;
  size_t capacity() const { return sets_ * kWays; }  // per table

 private:
  struct Entry {
    TlbTranslation t;
    bool valid = false;
  };
  struct Set {
    std::array<Entry, kWays> ways;
    uint8_t next_victim = 0;  // round-robin replacement: cheap and good enough for a 4-way set
  };
  struct Table {
    std::vector<Set> sets;
    // Valid entries per page size: a lookup skips the sizes the table does not hold, so the
    // common case (only 4 KiB pages, or 4 KiB plus the kernel's 2 MiB/1 GiB) costs few probes.
    std::array<size_t, kTlbLevels> entries_per_level{};
    TlbStats stats;
  };

  Table& table(TlbKind kind) { return tables_[static_cast<size_t>(kind)]; }
  const Table& table(TlbKind kind) const { return tables_[static_cast<size_t>(kind)]; }
  Set& set_for(Table& tbl, uint64_t va, unsigned level);
  static bool covers(const TlbTranslation& t, uint64_t va) {
    return (va & ~(t.page_size() - 1)) == t.va_page;
  }
  void invalidate(Table& tbl, Entry& e);
  // Drops, in both tables, the entries covering va (every level) that `drop` selects.
  template <typename Pred>
  void flush_covering(uint64_t va, Pred drop);

  size_t sets_;
  std::array<Table, 2> tables_;
};

}  // namespace vmkit
