#include "mmu/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <system_error>
#include <vector>

#include "core/errors.h"

namespace vmkit {

namespace {
std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

GuestMemory::GuestMemory(uint64_t size) : size_(size) {
  if (size == 0 || size % kPageSize) throw UsageError("guest memory size must be a nonzero multiple of 4096");
  void* p = ::mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw VmkitError("cannot reserve " + hex(size) + " bytes of host address space for the guest: " + std::strerror(errno));
  base_ = static_cast<uint8_t*>(p);
  void* c = ::mmap(nullptr, size / kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (c == MAP_FAILED) {
    ::munmap(base_, size_);
    throw VmkitError("cannot allocate the code page map");
  }
  code_pages_ = static_cast<uint8_t*>(c);
}

GuestMemory::~GuestMemory() {
  if (base_) ::munmap(base_, size_);
  if (code_pages_) ::munmap(code_pages_, size_ / kPageSize);
}

int GuestMemory::host_prot(int perm) {
  // Guest execute permission is checked by the frontend's fetch, not by the host: translated code
  // never runs from guest pages. Fetch reads the bytes through the host mapping, so an
  // execute-only guest page must be host-readable (Linux maps PROT_EXEC-only pages readable on
  // riscv64 too).
  int p = 0;
  if (perm & (kRead | kExec)) p |= PROT_READ;
  if (perm & kWrite) p |= PROT_READ | PROT_WRITE;
  return p;
}

static void check_range(const GuestMemory& m, uint64_t addr, uint64_t len, const char* what) {
  if (addr % GuestMemory::kPageSize || len == 0 || len % GuestMemory::kPageSize)
    throw UsageError(std::string(what) + ": address " + hex(addr) + " and size " + hex(len) +
                     " must be nonzero multiples of the 4096-byte page size");
  if (!m.in_range(addr, len))
    throw UsageError(std::string(what) + ": [" + hex(addr) + ", " + hex(addr + len) +
                     ") lies outside the guest address space of " + hex(m.size()) + " bytes");
}

void GuestMemory::set_regions(uint64_t addr, uint64_t len, int perm, const std::string& name, bool remove) {
  uint64_t end = addr + len;
  // Split regions overlapping [addr, end) so that the range can be replaced or removed whole.
  auto it = regions_.lower_bound(addr);
  if (it != regions_.begin()) --it;
  std::map<uint64_t, Region> keep;
  while (it != regions_.end() && it->first < end) {
    uint64_t s = it->first, e = it->second.end;
    if (e > addr) {
      Region r = it->second;
      it = regions_.erase(it);
      if (s < addr) keep[s] = Region{addr, r.perm, r.name};
      if (e > end) keep[end] = Region{e, r.perm, r.name};
      continue;
    }
    ++it;
  }
  for (auto& [s, r] : keep) regions_[s] = r;
  if (!remove) regions_[addr] = Region{end, perm, name};
}

void GuestMemory::map(uint64_t addr, uint64_t len, int perm, const std::string& name) {
  check_range(*this, addr, len, "map");
  void* p = ::mmap(base_ + addr, len, host_prot(perm), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw VmkitError("host mmap failed for guest range " + hex(addr) + ": " + std::strerror(errno));
  set_regions(addr, len, perm, name, false);
}

void GuestMemory::map_file(uint64_t addr, uint64_t len, int perm, int fd, off_t offset, bool shared,
                           const std::string& name) {
  check_range(*this, addr, len, "map_file");
  void* p = ::mmap(base_ + addr, len, host_prot(perm), (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, offset);
  if (p == MAP_FAILED) {
    int e = errno;
    throw std::system_error(e, std::generic_category(), "mmap of " + name);
  }
  set_regions(addr, len, perm, name, false);
}

void GuestMemory::unmap(uint64_t addr, uint64_t len) {
  check_range(*this, addr, len, "unmap");
  // Back to a reservation: PROT_NONE, no memory behind it.
  ::mmap(base_ + addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  set_regions(addr, len, 0, "", true);
  unmark_code(addr, len);
}

void GuestMemory::protect(uint64_t addr, uint64_t len, int perm) {
  check_range(*this, addr, len, "protect");
  if (!accessible(addr, len, 0)) throw UsageError("protect: [" + hex(addr) + ", " + hex(addr + len) + ") is not entirely mapped");
  // Keep each piece's name.
  std::vector<std::pair<uint64_t, Region>> pieces;
  for (auto& [s, r] : regions_) {
    if (r.end <= addr || s >= addr + len) continue;
    uint64_t ps = std::max(s, addr), pe = std::min(r.end, addr + len);
    pieces.push_back({ps, Region{pe, perm, r.name}});
  }
  ::mprotect(base_ + addr, len, host_prot(perm));
  for (auto& [s, r] : pieces) set_regions(s, r.end - s, perm, r.name, false);
}

bool GuestMemory::accessible(uint64_t addr, uint64_t len, int perm) const {
  if (len == 0) return in_range(addr, 0);
  if (!in_range(addr, len)) return false;
  uint64_t cur = addr, end = addr + len;
  auto it = regions_.upper_bound(cur);
  if (it == regions_.begin()) return false;
  --it;
  while (cur < end) {
    if (it == regions_.end() || it->first > cur || it->second.end <= cur) return false;
    if ((it->second.perm & perm) != perm) return false;
    cur = it->second.end;
    ++it;
  }
  return true;
}

uint64_t GuestMemory::find_free(uint64_t len, uint64_t below) const {
  len = page_up(len);
  uint64_t top = page_down(std::min(below, size_));
  // Walk regions from the top down looking for a gap.
  auto it = regions_.lower_bound(top);
  while (true) {
    uint64_t gap_end = top;
    uint64_t gap_start = 0;
    if (it != regions_.begin()) {
      auto prev = std::prev(it);
      gap_start = prev->second.end;
      if (gap_start > gap_end) {  // region straddles `top`
        top = prev->first;
        it = prev;
        continue;
      }
    }
    if (gap_end >= len && gap_end - len >= gap_start && gap_end - len >= kPageSize) return gap_end - len;
    if (it == regions_.begin()) return 0;
    --it;
    top = it->first;
  }
}

void GuestMemory::read(uint64_t addr, void* out, size_t n) const {
  if (!accessible(addr, n, kRead)) throw GuestAccessError(addr, "guest read of " + std::to_string(n) + " bytes at " + hex(addr) + " is not permitted");
  std::memcpy(out, base_ + addr, n);
}

void GuestMemory::write(uint64_t addr, const void* in, size_t n) {
  if (!accessible(addr, n, kWrite)) throw GuestAccessError(addr, "guest write of " + std::to_string(n) + " bytes at " + hex(addr) + " is not permitted");
  std::memcpy(base_ + addr, in, n);
}

std::string GuestMemory::read_cstr(uint64_t addr, size_t max) const {
  std::string s;
  uint64_t cur = addr;
  while (s.size() < max) {
    if (!accessible(cur, 1, kRead)) throw GuestAccessError(cur, "guest string at " + hex(addr) + " runs into inaccessible memory");
    // Read up to the end of this page at once.
    uint64_t chunk = std::min<uint64_t>(kPageSize - (cur % kPageSize), max - s.size());
    const char* p = reinterpret_cast<const char*>(base_ + cur);
    size_t l = strnlen(p, chunk);
    s.append(p, l);
    if (l < chunk) return s;
    cur += chunk;
  }
  return s;
}

bool GuestMemory::fetch(uint64_t addr, void* out, size_t n) const {
  if (!accessible(addr, n, kExec)) return false;
  std::memcpy(out, base_ + addr, n);
  return true;
}

void GuestMemory::mark_code(uint64_t addr, uint64_t len) {
  if (len == 0 || !in_range(addr, len)) return;
  for (uint64_t p = addr / kPageSize; p <= (addr + len - 1) / kPageSize; ++p) code_pages_[p] = 1;
}

void GuestMemory::unmark_code(uint64_t addr, uint64_t len) {
  if (len == 0 || !in_range(addr, len)) return;
  for (uint64_t p = addr / kPageSize; p <= (addr + len - 1) / kPageSize; ++p) code_pages_[p] = 0;
}

}  // namespace vmkit
