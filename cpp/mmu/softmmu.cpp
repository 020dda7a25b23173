#include "mmu/softmmu.h"

#include <algorithm>
#include <cstring>

#include "devices/bus.h"

namespace vmkit {

SoftMmu::SoftMmu(PhysicalMemory& ram, devices::Bus& bus, AddressTranslator& translator, PendingTrap& trap)
    : ram_(ram), bus_(bus), translator_(translator), trap_(trap) {
  flush();
  set_modes(0, 0);
  stats.flushes = 0;
}

uint64_t SoftMmu::read_host(const uint8_t* p, unsigned size) {
  switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    default: { uint64_t v; std::memcpy(&v, p, 8); return v; }
  }
}

void SoftMmu::write_host(uint8_t* p, unsigned size, uint64_t v) {
  switch (size) {
    case 1: *p = uint8_t(v); break;
    case 2: { uint16_t x = uint16_t(v); std::memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = uint32_t(v); std::memcpy(p, &x, 4); break; }
    default: std::memcpy(p, &v, 8); break;
  }
}

bool SoftMmu::raise(uint32_t cause, uint64_t tval) {
  ++stats.faults;
  trap_.pending = kPendingArchTrap;
  trap_.signo = int32_t(cause);
  trap_.code = 0;
  trap_.addr = tval;
  return false;
}

SoftMmu::Entry* SoftMmu::fill(uint64_t va, MmuAccess access, uint32_t* cause) {
  const bool fetch = access == MmuAccess::Fetch;
  const unsigned mode = fetch ? fetch_mode_ : data_mode_;
  PageTranslation t = translator_.translate(va, access, mode);
  if (!t.ok) {
    *cause = t.cause;
    return nullptr;
  }
  const uint64_t page_va = va & kPageMask, page_pa = t.pa & kPageMask;
  Entry& e = (fetch ? fetch_ : data_)[index(va)];
  if (const uint8_t* host = ram_.readable_host(page_pa, PhysicalMemory::kPageSize)) {
    // RAM, or a ROM (read and executed in place; a store into it is an access fault).
    const bool rom = !ram_.in_ram(page_pa);
    if (rom && access == MmuAccess::Store) {
      *cause = translator_.access_fault_cause(access);
      return nullptr;
    }
    e.addend = reinterpret_cast<uintptr_t>(host) - page_va;
    e.tag_read = t.read ? page_va : kInvalidTag;
    e.tag_write = t.write && !rom ? page_va | (ram_.holds_code(page_pa) ? kTagCode : 0) : kInvalidTag;
    e.tag_exec = t.exec ? page_va : kInvalidTag;
  } else {
    // A device page, or nothing: data accesses go to the bus (which answers an access fault where
    // nothing is mapped); code is never fetched from devices.
    if (fetch) {
      *cause = translator_.access_fault_cause(access);
      return nullptr;
    }
    e.addend = uintptr_t(page_pa - page_va);  // a physical, not a host, offset for device pages
    e.tag_read = t.read ? page_va | kTagDevice : kInvalidTag;
    e.tag_write = t.write ? page_va | kTagDevice : kInvalidTag;
    e.tag_exec = kInvalidTag;
  }
  if (t.page_size > PhysicalMemory::kPageSize) {
    uint64_t lo = va & ~(t.page_size - 1);
    if (lo < large_lo_) large_lo_ = lo;
    if (lo + t.page_size - 1 > large_hi_) large_hi_ = lo + t.page_size - 1;
  }
  ++stats.fills;
  return &e;
}

SoftMmu::Entry* SoftMmu::fill_or_raise(uint64_t va, MmuAccess access) {
  uint32_t cause = 0;
  Entry* e = fill(va, access, &cause);
  if (!e) raise(cause, va);
  return e;
}

bool SoftMmu::device_access(uint64_t pa, unsigned size, uint64_t& value, bool write, uint64_t va) {
  bool ok;
  if (write) {
    ++stats.device_writes;
    ok = bus_.write(pa, size, value);
    if (ok && stop_after_write) {
      stop_after_write = false;
      trap_.pending = kPendingStop;
      return false;
    }
  } else {
    ++stats.device_reads;
    ok = bus_.read(pa, size, value);
  }
  if (!ok) return raise(translator_.access_fault_cause(write ? MmuAccess::Store : MmuAccess::Load), va);
  return true;
}

SoftMmu::Entry* SoftMmu::data_entry(uint64_t va, MmuAccess access) {
  Entry* e = &data_[index(va)];
  const uint64_t tag = access == MmuAccess::Load ? e->tag_read : e->tag_write;
  if (tag != kInvalidTag && (tag & kPageMask) == (va & kPageMask)) return e;
  return fill_or_raise(va, access);
}

static bool crosses_page(uint64_t va, unsigned size) {
  return (va & (PhysicalMemory::kPageSize - 1)) + size > PhysicalMemory::kPageSize;
}

bool SoftMmu::load_slow(uint64_t va, unsigned size, uint64_t& value) {
  ++stats.misses;
  if (crosses_page(va, size)) {
    // A misaligned access across a page boundary: byte by byte (loads have no effect to undo).
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) {
      uint64_t b;
      if (!load(va + i, 1, b)) return false;
      v |= b << (8 * i);
    }
    value = v;
    return true;
  }
  Entry* e = data_entry(va, MmuAccess::Load);
  if (!e) return false;
  if (e->tag_read & kTagDevice) return device_access(va + e->addend, size, value, false, va);
  value = read_host(reinterpret_cast<const uint8_t*>(va + e->addend), size);
  return true;
}

bool SoftMmu::code_write(Entry& e, uint64_t va) {
  uint64_t page_pa = ram_.paddr_of(reinterpret_cast<uint8_t*>((va & kPageMask) + e.addend));
  if (ram_.holds_code(page_pa)) {
    ++stats.code_writes;
    trap_.pending = kPendingCodeWrite;
    trap_.addr = page_pa;
    return true;
  }
  e.tag_write &= ~kTagCode;  // the page's translations went since the tag was set
  return false;
}

bool SoftMmu::store_slow(uint64_t va, unsigned size, uint64_t value) {
  ++stats.misses;
  if (crosses_page(va, size)) {
    // Both pages must take the store before any byte is written, so a fault leaves memory as
    // it was (the instruction is then precise).
    // (The second part's trap value is the first byte on its page, as for the split load.)
    for (uint64_t page_va : {va, (va + size - 1) & kPageMask}) {
      if (!data_entry(page_va, MmuAccess::Store)) return false;
    }
    for (unsigned i = 0; i < size; ++i)
      if (!store(va + i, 1, (value >> (8 * i)) & 0xff)) return false;
    return true;
  }
  Entry* e = data_entry(va, MmuAccess::Store);
  if (!e) return false;
  if (e->tag_write & kTagDevice) return device_access(va + e->addend, size, value, true, va);
  if ((e->tag_write & kTagCode) && code_write(*e, va)) return false;
  write_host(reinterpret_cast<uint8_t*>(va + e->addend), size, value);
  return true;
}

uint8_t* SoftMmu::atomic_target(uint64_t va, unsigned size) {
  Entry* e = &data_[index(va)];
  if (tag_of(va, size) != e->tag_write) {
    ++stats.misses;
    e = data_entry(va, MmuAccess::Store);
    if (!e) return nullptr;
    if (e->tag_write & kTagDevice) {
      raise(translator_.access_fault_cause(MmuAccess::Store), va);
      return nullptr;
    }
    if ((e->tag_write & kTagCode) && code_write(*e, va)) return nullptr;
  } else {
    ++stats.hits;
  }
  return reinterpret_cast<uint8_t*>(va + e->addend);
}

bool SoftMmu::translate_fetch(uint64_t va, uint64_t& pa, uint32_t* cause) {
  Entry* e = &fetch_[index(va)];
  if (e->tag_exec == (va & kPageMask)) {
    ++stats.fetch_hits;
  } else {
    ++stats.fetch_misses;
    uint32_t why = 0;
    e = fill(va, MmuAccess::Fetch, &why);
    if (!e || e->tag_exec == kInvalidTag) {
      if (cause) *cause = why;
      return false;
    }
  }
  pa = ram_.paddr_of(reinterpret_cast<uint8_t*>(va + e->addend));
  return true;
}

void SoftMmu::flush() {
  std::memset(tables_, 0xff, sizeof tables_);
  large_lo_ = ~0ull;
  large_hi_ = 0;
  ++stats.flushes;
}

void SoftMmu::flush_page(uint64_t va) {
  if (va >= large_lo_ && va <= large_hi_) return flush();
  ++stats.page_flushes;
  const uint64_t page = va & kPageMask;
  for (auto& table : tables_) {
    Entry& e = table[index(va)];
    if ((e.tag_read & kPageMask) == page || (e.tag_write & kPageMask) == page || (e.tag_exec & kPageMask) == page)
      std::memset(&e, 0xff, sizeof e);
  }
}

void SoftMmu::protect_code_page(uint64_t page_pa) {
  uint8_t* host = ram_.host(page_pa);
  if (!host) return;
  for (auto& table : tables_)
    for (Entry& e : table) {
      if (e.tag_write == kInvalidTag || (e.tag_write & kTagDevice)) continue;
      if ((e.tag_write & kPageMask) + e.addend == reinterpret_cast<uintptr_t>(host)) e.tag_write |= kTagCode;
    }
}

}  // namespace vmkit

namespace vmkit {

bool MmuCodeSource::fetch(uint64_t addr, void* out, size_t n) const {
  auto* dst = static_cast<uint8_t*>(out);
  while (n) {
    uint64_t pa;
    if (!mmu_.translate_fetch(addr, pa)) return false;
    uint64_t page_pa = pa & SoftMmu::kPageMask;
    if ((addr & SoftMmu::kPageMask) != page_) straddles = true;
    if (pages.empty() || pages.back() != page_pa) pages.push_back(page_pa);
    size_t chunk = std::min<size_t>(n, PhysicalMemory::kPageSize - (addr & (PhysicalMemory::kPageSize - 1)));
    std::memcpy(dst, mmu_.ram().readable_host(pa, chunk), chunk);
    dst += chunk;
    addr += chunk;
    n -= chunk;
  }
  return true;
}

}  // namespace vmkit
