// System mode's software MMU: guest virtual addresses to host memory or devices, for every load,
// store and instruction fetch.
//
// The per-access fast path is a direct-mapped table per translation regime ("mode": for RISC-V,
// M or bare, S, S with SUM, U), indexed by virtual page number. An entry holds one tag per access
// kind and the addend that turns a virtual address into a host address:
//
//     e = &table[(va >> 12) & (N - 1)];
//     if ((va & (kPageMask | (size - 1))) == e->tag_read) value = *(T*)(va + e->addend);
//
// Folding (size - 1) into the compare sends misaligned accesses to the slow path, and so do tags
// with a flag in bits 11..9 (a device page, or a page holding translated code that stores must not
// change behind the translator's back): one compare covers every case (qemu's softmmu design).
// Keeping SUM in the mode, not in the entries, matters for Linux: it toggles sstatus.SUM around
// every copy to or from user memory, and switching tables is free where flushing would not be.
//
// Misses go to the architecture's AddressTranslator (its second-level TLB and page walk), and the
// slow path fills the entry. Faults become a pending architectural trap (GuestCommon::trap,
// kPendingArchTrap) that the execution loop delivers to the guest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/guest_common.h"
#include "frontend/frontend.h"
#include "mmu/phys_memory.h"

namespace vmkit {

namespace devices {
class Bus;
}

enum class MmuAccess : uint8_t { Load, Store, Fetch };

// What the architecture says about the page containing va in one translation regime.
struct PageTranslation {
  bool ok = false;
  uint32_t cause = 0;  // !ok: the exception to raise, with the virtual address as its trap value
  uint64_t pa = 0;     // ok: the physical address of va
  // What the regime may do through this page without asking again. `write` only if the mapping is
  // already dirty (a store to a clean page must come back to have the dirty bit set).
  bool read = false, write = false, exec = false;
  uint64_t page_size = PhysicalMemory::kPageSize;  // of the mapping (superpages are larger)
};

class AddressTranslator {
 public:
  virtual ~AddressTranslator() = default;
  // Translates va for `access` in regime `mode`. A fault is returned, not raised.
  virtual PageTranslation translate(uint64_t va, MmuAccess access, unsigned mode) = 0;
  // The exception an access to a physical address with nothing behind it raises.
  virtual uint32_t access_fault_cause(MmuAccess access) const = 0;
};

struct SoftMmuStats {
  uint64_t hits = 0;          // accesses the fast path served (counted by the engines)
  uint64_t misses = 0;        // slow-path entries (misaligned and device accesses included)
  uint64_t fills = 0;         // entries filled from a translation
  uint64_t faults = 0;        // traps raised (page and access faults)
  uint64_t device_reads = 0;
  uint64_t device_writes = 0;
  uint64_t code_writes = 0;   // stores that met a page holding translations
  uint64_t flushes = 0;       // whole-table flushes (every regime)
  uint64_t page_flushes = 0;  // one virtual page in every regime
  uint64_t fetch_hits = 0;    // fetch translations the table served (block lookups)
  uint64_t fetch_misses = 0;
};

class SoftMmu {
 public:
  static constexpr unsigned kModes = 4;
  static constexpr unsigned kIndexBits = 10;
  static constexpr size_t kEntries = size_t(1) << kIndexBits;
  static constexpr uint64_t kPageMask = ~uint64_t(PhysicalMemory::kPageSize - 1);
  static constexpr uint64_t kTagDevice = 1u << 11;     // accesses go to the bus
  static constexpr uint64_t kTagCode = 1u << 10;       // write tag: the page holds translations
  static constexpr uint64_t kInvalidTag = ~0ull;

  struct Entry {
    uint64_t tag_read;
    uint64_t tag_write;
    uint64_t tag_exec;
    uintptr_t addend;  // host address = va + addend (RAM pages)
  };

  SoftMmu(PhysicalMemory& ram, devices::Bus& bus, AddressTranslator& translator, PendingTrap& trap);

  // The regimes data accesses and instruction fetches use now (they differ under RISC-V's MPRV).
  // Everything that changes them ends the running block, so they are constant inside one.
  void set_modes(unsigned data_mode, unsigned fetch_mode) {
    data_ = tables_[data_mode];
    fetch_ = tables_[fetch_mode];
    data_mode_ = data_mode;
    fetch_mode_ = fetch_mode;
  }
  unsigned data_mode() const { return data_mode_; }
  unsigned fetch_mode() const { return fetch_mode_; }
  Entry* data_table() const { return data_; }
  static size_t index(uint64_t va) { return (va >> 12) & (kEntries - 1); }
  static uint64_t tag_of(uint64_t va, unsigned size) { return va & (kPageMask | (size - 1)); }

  // A data access of 1, 2, 4 or 8 bytes, fast path first. false: a trap is pending (see class
  // comment), or a store met translated code (kPendingCodeWrite; nothing was written).
  bool load(uint64_t va, unsigned size, uint64_t& value) {
    const Entry& e = data_[index(va)];
    if (tag_of(va, size) == e.tag_read) {
      ++stats.hits;
      value = read_host(reinterpret_cast<const uint8_t*>(va + e.addend), size);
      return true;
    }
    return load_slow(va, size, value);
  }
  bool store(uint64_t va, unsigned size, uint64_t value) {
    const Entry& e = data_[index(va)];
    if (tag_of(va, size) == e.tag_write) {
      ++stats.hits;
      write_host(reinterpret_cast<uint8_t*>(va + e.addend), size, value);
      return true;
    }
    return store_slow(va, size, value);
  }
  bool load_slow(uint64_t va, unsigned size, uint64_t& value);
  bool store_slow(uint64_t va, unsigned size, uint64_t value);

  // The host address of a naturally aligned `size`-byte location in RAM that the current regime
  // may read and write (atomics, store-conditional), or nullptr with a trap pending (a store/AMO
  // fault: a device or unmapped page, no write permission) or a code write.
  uint8_t* atomic_target(uint64_t va, unsigned size);

  // The physical address of instruction byte va in the current fetch regime, for translating
  // code (nothing is raised). false: it cannot be fetched; *cause says why.
  bool translate_fetch(uint64_t va, uint64_t& pa, uint32_t* cause = nullptr);

  // Drops every entry of every regime / every entry for va's page.
  void flush();
  void flush_page(uint64_t va);
  // A page became code: the write tags that map it get kTagCode, so stores into it take the slow
  // path (the engines' code is then invalidated before the store happens).
  void protect_code_page(uint64_t page_pa);

  PhysicalMemory& ram() { return ram_; }
  SoftMmuStats stats;
  // Set by a device (through its owner) during a write to make the run stop right after the
  // writing instruction, as real hardware stops at a power-off write (kPendingStop).
  bool stop_after_write = false;

 private:
  static uint64_t read_host(const uint8_t* p, unsigned size);
  static void write_host(uint8_t* p, unsigned size, uint64_t v);
  // Translates va for `access` in the current regime and refills its entry in that regime's table.
  // nullptr: the access faults; *cause says how (nothing is raised).
  Entry* fill(uint64_t va, MmuAccess access, uint32_t* cause);
  // The same, raising the fault.
  Entry* fill_or_raise(uint64_t va, MmuAccess access);
  // The current data regime's entry for va's page with a tag for `access` (a load or a store),
  // filled first if it has none; nullptr with the fault raised.
  Entry* data_entry(uint64_t va, MmuAccess access);
  bool raise(uint32_t cause, uint64_t tval);
  // A store through e (whose write tag has kTagCode) into a page that still holds translations:
  // raises kPendingCodeWrite and returns true. Otherwise clears the stale tag.
  bool code_write(Entry& e, uint64_t va);
  bool device_access(uint64_t pa, unsigned size, uint64_t& value, bool write, uint64_t va);

  PhysicalMemory& ram_;
  devices::Bus& bus_;
  AddressTranslator& translator_;
  PendingTrap& trap_;
  Entry tables_[kModes][kEntries];
  Entry* data_;
  Entry* fetch_;
  unsigned data_mode_ = 0, fetch_mode_ = 0;
  // The virtual range that superpage mappings filled since the last flush cover: flushing one
  // page inside it must drop every 4 KiB entry taken from the same superpage, which only a whole
  // flush can find (qemu tracks the same range).
  uint64_t large_lo_ = ~0ull, large_hi_ = 0;
};

}  // namespace vmkit

namespace vmkit {

// Instruction bytes through the software MMU in the current fetch regime, for the translator.
// It records the physical pages a translation read (the execution loop marks them as code) and
// keeps a translation inside the virtual page it starts in: only an instruction that straddles
// the page end reads the next page (`straddles` then tells the loop to not keep the block, as
// its key names one physical page only).
class MmuCodeSource final : public CodeSource {
 public:
  explicit MmuCodeSource(SoftMmu& mmu) : mmu_(mmu) {}
  void begin(uint64_t pc) {
    page_ = pc & SoftMmu::kPageMask;
    pages.clear();
    straddles = false;
  }
  bool fetch(uint64_t addr, void* out, size_t n) const override;
  mutable std::vector<uint64_t> pages;  // physical pages read since begin()
  mutable bool straddles = false;

 private:
  SoftMmu& mmu_;
  uint64_t page_ = 0;
};

}  // namespace vmkit
