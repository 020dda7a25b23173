#include "mmu/phys_memory.h"

#include <sys/mman.h>

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
