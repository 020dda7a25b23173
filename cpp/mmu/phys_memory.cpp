#include "mmu/phys_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/errors.h"

namespace vmkit {

PhysicalMemory::PhysicalMemory(uint64_t ram_base, uint64_t ram_size) : ram_base_(ram_base), ram_size_(ram_size) {
  if (ram_size == 0 || ram_size % kPageSize || ram_base % kPageSize)
    throw UsageError("RAM of " + std::to_string(ram_size) + " bytes at " + hex(ram_base) +
                     ": base and size must be non-zero multiples of 4096");
  void* p = ::mmap(nullptr, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw UsageError("cannot reserve " + std::to_string(ram_size >> 20) + " MiB of host memory for guest RAM: " +
                     std::strerror(errno) + "; give the machine less memory");
  ram_ = static_cast<uint8_t*>(p);
  code_pages_.assign(ram_size / kPageSize, 0);
}

PhysicalMemory::~PhysicalMemory() { ::munmap(ram_, ram_size_); }

void PhysicalMemory::write(uint64_t paddr, const void* data, size_t len) {
  if (len == 0) return;
  if (!in_ram(paddr, len))
    throw UsageError("physical range " + hex(paddr) + "+" + hex(len) + " is not RAM (RAM is " + hex(ram_base_) +
                     ".." + hex(ram_end() - 1) + ")");
  for (uint64_t page = paddr & ~(kPageSize - 1); page < paddr + len; page += kPageSize)
    if (holds_code(page)) code_written(page);
  std::memcpy(host(paddr, len), data, len);
}

void PhysicalMemory::read(uint64_t paddr, void* out, size_t len) const {
  if (len == 0) return;
  if (!in_ram(paddr, len))
    throw UsageError("physical range " + hex(paddr) + "+" + hex(len) + " is not RAM (RAM is " + hex(ram_base_) +
                     ".." + hex(ram_end() - 1) + ")");
  std::memcpy(out, ram_ + (paddr - ram_base_), len);
}

const PhysicalMemory::Rom* PhysicalMemory::rom_at(uint64_t paddr) const {
  for (const Rom& r : roms_)
    if (paddr >= r.base && paddr - r.base < r.bytes.size()) return &r;
  return nullptr;
}

PhysicalMemory::Rom* PhysicalMemory::rom_at(uint64_t paddr) {
  return const_cast<Rom*>(static_cast<const PhysicalMemory*>(this)->rom_at(paddr));
}

const uint8_t* PhysicalMemory::readable_host(uint64_t paddr, uint64_t len) const {
  if (in_ram(paddr, len)) return ram_ + (paddr - ram_base_);
  const Rom* r = rom_at(paddr);
  if (!r || len > r->bytes.size() - (paddr - r->base)) return nullptr;
  return r->bytes.data() + (paddr - r->base);
}

uint64_t PhysicalMemory::paddr_of(const uint8_t* host) const {
  if (host >= ram_ && host < ram_ + ram_size_) return ram_base_ + uint64_t(host - ram_);
  for (const Rom& r : roms_)
    if (host >= r.bytes.data() && host < r.bytes.data() + r.bytes.size()) return r.base + uint64_t(host - r.bytes.data());
  return ~0ull;
}

void PhysicalMemory::add_rom(uint64_t base, const std::vector<uint8_t>& bytes, uint64_t size) {
  if (size == 0 || size % kPageSize || base % kPageSize || bytes.size() > size)
    throw UsageError("ROM of " + std::to_string(size) + " bytes at " + hex(base) +
                     ": base and size must be multiples of 4096, and the contents must fit");
  auto overlaps = [&](uint64_t b, uint64_t n) { return base < b + n && b < base + size; };
  if (overlaps(ram_base_, ram_size_)) throw UsageError("ROM at " + hex(base) + " overlaps RAM");
  for (const Rom& r : roms_)
    if (overlaps(r.base, r.bytes.size())) throw UsageError("ROM at " + hex(base) + " overlaps the ROM at " + hex(r.base));
  Rom rom{base, std::vector<uint8_t>(size, 0)};
  std::copy(bytes.begin(), bytes.end(), rom.bytes.begin());
  roms_.push_back(std::move(rom));
}

void PhysicalMemory::load_rom(uint64_t base, const std::vector<uint8_t>& bytes) {
  Rom* r = rom_at(base);
  if (!r || r->base != base || bytes.size() > r->bytes.size())
    throw UsageError("no ROM of at least " + std::to_string(bytes.size()) + " bytes at " + hex(base));
  std::fill(r->bytes.begin(), r->bytes.end(), 0);
  std::copy(bytes.begin(), bytes.end(), r->bytes.begin());
  // (ROM pages never hold cached translations the guest could have run stale: the caller resets
  // the hart and drops translations with the new contents in place.)
}

bool PhysicalMemory::mark_code(uint64_t paddr) {
  if (!in_ram(paddr)) return false;
  uint8_t& m = code_pages_[(paddr - ram_base_) / kPageSize];
  if (m) return false;
  m = 1;
  return true;
}

void PhysicalMemory::code_written(uint64_t paddr) {
  if (!in_ram(paddr)) return;
  uint64_t page = paddr & ~(kPageSize - 1);
  code_pages_[(page - ram_base_) / kPageSize] = 0;
  if (on_code_written) on_code_written(page);
}

}  // namespace vmkit
