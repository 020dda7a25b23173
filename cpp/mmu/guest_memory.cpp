#include "mmu/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <iterator>
#include <system_error>
#include <vector>

#include "core/errors.h"
#include "mmu/snapshot.h"

namespace vmkit {

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
  // Leave the signal handler's registry before the reservation goes away.
  stop_tracking(false);
  protected_code_ = false;
  update_fault_registration();
  for (MemorySnapshot* s : live_snapshots_) s->mem_ = nullptr;
  if (base_) ::munmap(base_, size_);
  if (code_pages_) ::munmap(code_pages_, size_ / kPageSize);
  if (cow_state_) ::munmap(cow_state_, size_ / kPageSize);
  if (save_area_) ::munmap(save_area_, size_);
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

void GuestMemory::set_regions(uint64_t addr, uint64_t len, int perm, const std::string& name, bool remove,
                              bool shared) {
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
      if (s < addr) keep[s] = Region{addr, r.perm, r.name, r.shared};
      if (e > end) keep[end] = Region{e, r.perm, r.name, r.shared};
      continue;
    }
    ++it;
  }
  for (auto& [s, r] : keep) regions_[s] = r;
  if (!remove) regions_[addr] = Region{end, perm, name, shared};
}

void GuestMemory::map(uint64_t addr, uint64_t len, int perm, const std::string& name) {
  check_range(*this, addr, len, "map");
  cow_before_replace(addr, len);
  void* p = ::mmap(base_ + addr, len, host_prot(perm), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw VmkitError("host mmap failed for guest range " + hex(addr) + ": " + std::strerror(errno));
  set_regions(addr, len, perm, name, false);
  unmark_code(addr, len);
}

void GuestMemory::map_file(uint64_t addr, uint64_t len, int perm, int fd, off_t offset, bool shared,
                           const std::string& name) {
  check_range(*this, addr, len, "map_file");
  cow_before_replace(addr, len);
  void* p = ::mmap(base_ + addr, len, host_prot(perm), (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, offset);
  if (p == MAP_FAILED) {
    int e = errno;
    throw std::system_error(e, std::generic_category(), "mmap of " + name);
  }
  set_regions(addr, len, perm, name, false, shared);
  unmark_code(addr, len);
}

void GuestMemory::raw_unmap(uint64_t addr, uint64_t len) {
  // Back to a reservation: PROT_NONE, no memory behind it.
  ::mmap(base_ + addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  set_regions(addr, len, 0, "", true);
  unmark_code(addr, len);
}

void GuestMemory::unmap(uint64_t addr, uint64_t len) {
  check_range(*this, addr, len, "unmap");
  cow_before_replace(addr, len);
  raw_unmap(addr, len);
}

void GuestMemory::protect(uint64_t addr, uint64_t len, int perm) {
  check_range(*this, addr, len, "protect");
  if (!accessible(addr, len, 0)) throw UsageError("protect: [" + hex(addr) + ", " + hex(addr + len) + ") is not entirely mapped");
  // Keep each piece's name.
  std::vector<std::pair<uint64_t, Region>> pieces;
  for (auto& [s, r] : regions_) {
    if (r.end <= addr || s >= addr + len) continue;
    uint64_t ps = std::max(s, addr), pe = std::min(r.end, addr + len);
    pieces.push_back({ps, Region{pe, perm, r.name, r.shared}});
  }
  cow_before_protect(addr, len, perm);
  ::mprotect(base_ + addr, len, host_prot(perm));
  protect_code_pages(addr, len, perm);
  for (auto& [s, r] : pieces) set_regions(s, r.end - s, perm, r.name, false, r.shared);
  // Like the kernel's mprotect, join the pieces with equal neighbours again (a protect and its
  // reverse leave the region table as it was).
  auto it = regions_.lower_bound(addr);
  if (it != regions_.begin()) --it;
  while (it != regions_.end() && it->first <= addr + len) {
    auto next = std::next(it);
    if (next == regions_.end()) break;
    const Region& a = it->second;
    const Region& b = next->second;
    if (a.end == next->first && a.perm == b.perm && a.name == b.name && a.shared == b.shared) {
      it->second.end = b.end;
      regions_.erase(next);
    } else {
      it = next;
    }
  }
}

// ---- Checked user-facing mapping calls -------------------------------------------------------

void GuestMemory::check_user_range(uint64_t addr, uint64_t len, const char* what) const {
  if (len == 0) throw UsageError(std::string(what) + ": size is 0; give a nonzero multiple of 4096");
  if (addr % kPageSize)
    throw UsageError(std::string(what) + ": address " + hex(addr) +
                     " is not page aligned; use a multiple of 4096 (e.g. " + hex(page_down(addr)) + ")");
  if (len % kPageSize)
    throw UsageError(std::string(what) + ": size " + hex(len) +
                     " is not a multiple of the 4096-byte page size (e.g. " + hex(page_up(len)) + ")");
  if (!in_range(addr, len))
    throw UsageError(std::string(what) + ": [" + hex(addr) + ", " + hex(addr + len) +
                     ") lies outside the guest address space [0, " + hex(size_) + ")");
}

namespace {
void check_perm(const char* what, int perm) {
  if (perm & ~(kRead | kWrite | kExec))
    throw UsageError(std::string(what) + ": permissions " + std::to_string(perm) +
                     " are not a combination of READ (1), WRITE (2) and EXEC (4)");
}

std::string region_desc(uint64_t start, const GuestMemory::Region& r) {
  std::string d = "[" + hex(start) + ", " + hex(r.end) + ")";
  if (!r.name.empty()) d += " '" + r.name + "'";
  return d;
}
}  // namespace

// A new mapping at [addr, addr+len) must not overlap an existing one: the message names the
// lowest overlapping region (the one the caller most likely forgot about).
void GuestMemory::check_free(uint64_t addr, uint64_t len, const char* what) const {
  auto it = regions_.lower_bound(addr + len);  // first region starting at or after the end
  if (it == regions_.begin() || std::prev(it)->second.end <= addr) return;
  auto o = std::prev(it);
  while (o != regions_.begin() && std::prev(o)->second.end > addr) --o;
  throw UsageError(std::string(what) + ": [" + hex(addr) + ", " + hex(addr + len) + ") overlaps the existing mapping " +
                   region_desc(o->first, o->second) + "; unmap it first or choose a free range");
}

void GuestMemory::map_new(uint64_t addr, uint64_t len, int perm, const std::string& name) {
  check_user_range(addr, len, "map");
  check_perm("map", perm);
  check_free(addr, len, "map");
  map(addr, len, perm, name);
}

namespace {
// The first unmapped address in [addr, end) of a region table (end if none).
uint64_t first_hole(const std::map<uint64_t, GuestMemory::Region>& rs, uint64_t addr, uint64_t end) {
  uint64_t cur = addr;
  auto it = rs.upper_bound(cur);
  if (it != rs.begin()) --it;
  while (cur < end) {
    if (it == rs.end() || it->first > cur) return cur;
    if (it->second.end > cur) cur = it->second.end;
    ++it;
  }
  return end;
}
}  // namespace

void GuestMemory::unmap_checked(uint64_t addr, uint64_t len) {
  check_user_range(addr, len, "unmap");
  uint64_t hole = first_hole(regions_, addr, addr + len);
  if (hole < addr + len)
    throw UsageError("unmap: [" + hex(addr) + ", " + hex(addr + len) + ") is not entirely mapped (" + hex(hole) +
                     " is not); unmap only mapped ranges");
  unmap(addr, len);
}

void GuestMemory::protect_checked(uint64_t addr, uint64_t len, int perm) {
  check_user_range(addr, len, "protect");
  check_perm("protect", perm);
  uint64_t hole = first_hole(regions_, addr, addr + len);
  if (hole < addr + len)
    throw UsageError("protect: [" + hex(addr) + ", " + hex(addr + len) + ") is not entirely mapped (" + hex(hole) +
                     " is not); map it first");
  protect(addr, len, perm);
}

void GuestMemory::map_host(uint64_t addr, void* host_ptr, uint64_t len, int perm, const std::string& name) {
  check_user_range(addr, len, "map_host");
  check_perm("map_host", perm);
  if (host_ptr == nullptr || reinterpret_cast<uintptr_t>(host_ptr) % kPageSize)
    throw UsageError("map_host: the host buffer " + hex(reinterpret_cast<uintptr_t>(host_ptr)) +
                     " is not page aligned; pass a page-aligned shared mapping such as mmap.mmap(-1, size)");
  check_free(addr, len, "map_host");
  cow_before_replace(addr, len);
  // With old_size 0, mremap creates a second mapping of the same pages (no copy) and leaves the
  // caller's mapping alone; Linux allows that only for shared mappings.
  void* p = ::mremap(host_ptr, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, base_ + addr);
  if (p == MAP_FAILED) {
    int e = errno;
    raw_unmap(addr, len);  // MREMAP_FIXED may have replaced the reservation before failing
    if (e == EINVAL)
      throw UsageError("map_host: the host buffer at " + hex(reinterpret_cast<uintptr_t>(host_ptr)) +
                                  " cannot be aliased: it must be a page-aligned shared mapping (MAP_SHARED) such as "
                                  "mmap.mmap(-1, size), not private memory (malloc, bytearray, numpy arrays)");
    throw UsageError("map_host: the host buffer at " + hex(reinterpret_cast<uintptr_t>(host_ptr)) +
                     " cannot be aliased for " + hex(len) + " bytes (" + std::strerror(e) +
                   "); it must be a shared mapping of at least that size");
  }
  ::mprotect(base_ + addr, len, host_prot(perm));
  set_regions(addr, len, perm, name, false, /*shared=*/true);
  unmark_code(addr, len);
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
  prepare_write(addr, n);
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

template <class F> void GuestMemory::with_access(uint64_t addr, size_t n, int need, F&& access) {
  if (n == 0) return;
  if (accessible(addr, n, need) || !accessible(addr, n, 0)) {
    access();  // the plain path: allowed, or unmapped somewhere (GuestAccessError)
    return;
  }
  // Lend the missing permission to each region piece in the range, then give it back.
  std::vector<std::pair<uint64_t, std::pair<uint64_t, int>>> lent;  // start -> (end, perm)
  const uint64_t lo = page_down(addr), hi = page_up(addr + n);
  for (const auto& [start, r] : regions()) {
    uint64_t b = std::max(start, lo), e = std::min(r.end, hi);
    if (b < e && (r.perm & need) != need) lent.push_back({b, {e, r.perm}});
  }
  for (const auto& [b, er] : lent) protect(b, er.first - b, er.second | need);
  struct GiveBack {
    GuestMemory& mem;
    decltype(lent)& pieces;
    ~GiveBack() {
      for (const auto& [b, er] : pieces) mem.protect(b, er.first - b, er.second);
    }
  } give_back{*this, lent};
  access();
}

void GuestMemory::debug_read(uint64_t addr, void* out, size_t n) {
  with_access(addr, n, kRead, [&] { read(addr, out, n); });
}

void GuestMemory::debug_write(uint64_t addr, const void* in, size_t n) {
  with_access(addr, n, kWrite, [&] { write(addr, in, n); });
}

bool GuestMemory::fetch(uint64_t addr, void* out, size_t n) const {
  if (!accessible(addr, n, kExec)) return false;
  std::memcpy(out, base_ + addr, n);
  return true;
}

// ---- Translated code ----------------------------------------------------------------------------

const GuestMemory::Region* GuestMemory::region_at(uint64_t addr) const {
  auto it = regions_.upper_bound(addr);
  if (it == regions_.begin()) return nullptr;
  --it;
  return addr < it->second.end ? &it->second : nullptr;
}

void GuestMemory::remove_code_watcher(CodeWatcher* w) {
  code_watchers_.erase(std::remove(code_watchers_.begin(), code_watchers_.end(), w), code_watchers_.end());
}

void GuestMemory::mark_code(uint64_t addr, uint64_t len) {
  if (len == 0 || !in_range(addr, len)) return;
  for (uint64_t p = addr / kPageSize; p <= (addr + len - 1) / kPageSize; ++p) {
    uint8_t v = code_state(p).load(std::memory_order_relaxed);
    if (v == kCode || v == kCodeWriteProtected) continue;
    const Region* r = region_at(p * kPageSize);
    if (!r || !(r->perm & kWrite)) {
      code_state(p).store(kCode, std::memory_order_relaxed);
      continue;
    }
    note_protected_code();
    code_state(p).store(kCodeWriteProtected, std::memory_order_release);
    ::mprotect(base_ + p * kPageSize, kPageSize, PROT_READ);
  }
}

// A page is about to be write-protected for its code: the fault handler must know this memory.
void GuestMemory::note_protected_code() {
  if (protected_code_) return;
  protected_code_ = true;
  update_fault_registration();
}

void GuestMemory::unmark_code(uint64_t addr, uint64_t len) {
  if (len == 0 || !in_range(addr, len)) return;
  for (uint64_t p = addr / kPageSize; p <= (addr + len - 1) / kPageSize; ++p) code_pages_[p] = kNoCode;
}

void GuestMemory::release_code(uint64_t addr, uint64_t len) {
  if (len == 0 || !in_range(addr, len)) return;
  for (uint64_t p = addr / kPageSize; p <= (addr + len - 1) / kPageSize; ++p) {
    uint8_t v = code_state(p).exchange(kNoCode, std::memory_order_acq_rel);
    // (a protected page is guest-writable, so its real protection is read+write)
    if (v == kCodeWriteProtected && !cow_clean(p)) ::mprotect(base_ + p * kPageSize, kPageSize, PROT_READ | PROT_WRITE);
  }
}

// An mprotect of [addr, addr+len) to host_prot(perm) has just given marked pages the guest's
// permission: take write away from them again (runs of marked pages take one call).
void GuestMemory::protect_code_pages(uint64_t addr, uint64_t len, int perm) {
  if (len == 0 || !in_range(addr, len)) return;
  uint64_t p = addr / kPageSize, end = (addr + len - 1) / kPageSize + 1;
  while (p < end) {
    if (code_pages_[p] == kNoCode) {
      ++p;
      continue;
    }
    uint64_t q = p;
    for (; q < end && code_pages_[q] != kNoCode; ++q) {
      if (!(perm & kWrite)) code_state(q).store(code_pages_[q] == kCodeStale ? kCodeStale : kCode);
      else code_state(q).store(kCodeWriteProtected);
    }
    if (perm & kWrite) {
      note_protected_code();
      ::mprotect(base_ + p * kPageSize, (q - p) * kPageSize, PROT_READ);
    }
    p = q;
  }
}

// Signal-handler side (see handle_protection_fault): host code, not the guest, wrote a
// write-protected code page. The write may go ahead; the page's translations are dropped later,
// by drop_stale_code, which the execution loop and the hook dispatcher call.
bool GuestMemory::take_host_code_write(uint64_t page) noexcept {
  uint8_t v = kCodeWriteProtected;
  if (!code_state(page).compare_exchange_strong(v, kCodeStale, std::memory_order_acq_rel)) return false;
  ::mprotect(base_ + page * kPageSize, kPageSize, PROT_READ | PROT_WRITE);
  uint64_t i = stale_count_.fetch_add(1, std::memory_order_acq_rel);
  if (i < kMaxStalePages) stale_pages_[i] = page;
  return true;
}

void GuestMemory::drop_stale_code() {
  uint64_t n = stale_count_.exchange(0, std::memory_order_acq_rel);
  if (n == 0) return;
  if (n > kMaxStalePages) {
    // Too many to have listed: drop every translation and look for the pages.
    for (CodeWatcher* w : code_watchers_) w->code_written(0, size_);
    for (const auto& [s, r] : regions_)
      for (uint64_t p = s / kPageSize; p < r.end / kPageSize; ++p) {
        uint8_t v = kCodeStale;
        code_state(p).compare_exchange_strong(v, kNoCode);
      }
    return;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t p = stale_pages_[i];
    for (CodeWatcher* w : code_watchers_) w->code_written(p * kPageSize, kPageSize);
    uint8_t v = kCodeStale;  // else translated and protected again since: leave it so
    code_state(p).compare_exchange_strong(v, kNoCode);
  }
}

void GuestMemory::prepare_write(uint64_t addr, uint64_t len) {
  if (len == 0 || !in_range(addr, len)) return;
  const uint64_t lo = page_down(addr), hi = page_up(addr + len);
  for (uint64_t p = lo / kPageSize; p < hi / kPageSize; ++p) {
    if (code_pages_[p] == kNoCode) continue;
    for (CodeWatcher* w : code_watchers_) w->code_written(lo, hi - lo);
    release_code(lo, hi - lo);
    break;
  }
  save_cow_pages(addr, len);
}

}  // namespace vmkit
