// Copy-on-write snapshots of guest memory: the model is described in snapshot.h.
#include "mmu/snapshot.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "core/errors.h"

namespace vmkit {

namespace {

constexpr uint64_t P = GuestMemory::kPageSize;

// The state byte of each guest page while a snapshot is tracked (0 for pages the snapshot did
// not map, and for every page when nothing is tracked).
enum CowState : uint8_t {
  kUntracked = 0,
  kCleanNoWrite = 1,    // snapshot contents; the guest cannot write it, host protection is real
  kCleanCow = 2,        // snapshot contents; guest-writable, host-protected read-only
  kCopying = 3,         // being saved by one thread (another faulting thread waits)
  kDirtyWritable = 4,   // saved; host protection is real and includes write
  kDirtyNoWrite = 5,    // saved; host protection is real and excludes write (protected since)
  kReplaced = 6,        // saved; its mapping was replaced or removed (map/unmap since)
};

bool is_saved(uint8_t s) { return s == kDirtyWritable || s == kDirtyNoWrite || s == kReplaced; }

// Guest memories whose host protections are stricter than the guest's permissions (a tracked
// snapshot, write-protected code), for the signal handler: a fixed array of atomic pointers needs
// neither allocation nor locks to read.
constexpr int kMaxFaultMemories = 256;
std::atomic<GuestMemory*> g_fault_memories[kMaxFaultMemories];

bool register_for_faults(GuestMemory* m) {
  for (auto& slot : g_fault_memories)
    if (slot.load(std::memory_order_acquire) == m) return true;
  for (auto& slot : g_fault_memories) {
    GuestMemory* expected = nullptr;
    if (slot.compare_exchange_strong(expected, m, std::memory_order_acq_rel)) return true;
  }
  return false;
}

void unregister_for_faults(GuestMemory* m) {
  for (auto& slot : g_fault_memories) {
    GuestMemory* expected = m;
    slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel);
  }
}

std::atomic_ref<uint8_t> state_ref(uint8_t* states, uint64_t page) { return std::atomic_ref<uint8_t>(states[page]); }

// Calls fn(start, end, region-or-nullptr) for the pieces of [addr, end) covered by the regions of
// `rs` (with that region) and for the gaps between them (with nullptr), in address order.
template <class Fn>
void for_each_piece(const std::map<uint64_t, GuestMemory::Region>& rs, uint64_t addr, uint64_t end, Fn fn) {
  uint64_t cur = addr;
  auto it = rs.upper_bound(cur);
  if (it != rs.begin() && std::prev(it)->second.end > cur) --it;
  while (cur < end) {
    if (it == rs.end() || it->first >= end) {
      fn(cur, end, static_cast<const GuestMemory::Region*>(nullptr));
      return;
    }
    if (it->first > cur) {
      fn(cur, it->first, static_cast<const GuestMemory::Region*>(nullptr));
      cur = it->first;
    }
    uint64_t e = std::min(it->second.end, end);
    fn(cur, e, &it->second);
    cur = e;
    ++it;
  }
}

}  // namespace

// ---- MemorySnapshot ----------------------------------------------------------------------------

MemorySnapshot::~MemorySnapshot() {
  if (!mem_) return;
  if (mem_->tracked_ == this) mem_->stop_tracking(false);
  auto& live = mem_->live_snapshots_;
  live.erase(std::remove(live.begin(), live.end(), this), live.end());
}

uint64_t MemorySnapshot::mapped_bytes() const {
  uint64_t n = 0;
  for (const auto& [s, r] : regions_) n += r.end - s;
  return n;
}

// ---- The signal-handler side -------------------------------------------------------------------

bool GuestMemory::handle_protection_fault(void* host_addr, bool write, bool by_guest_code) noexcept {
  auto* a = static_cast<uint8_t*>(host_addr);
  for (auto& slot : g_fault_memories) {
    GuestMemory* m = slot.load(std::memory_order_acquire);
    if (!m || a < m->base_ || a >= m->base_ + m->size_) continue;
    int saved_errno = errno;  // mprotect may change it under the interrupted code
    uint64_t page = uint64_t(a - m->base_) / P;
    bool handled = false;
    if (m->tracked_ && m->save_cow_page(page)) {
      m->cow_faults_.fetch_add(1, std::memory_order_relaxed);
      handled = true;
    } else if (write && !by_guest_code) {
      handled = m->take_host_code_write(page);
    }
    errno = saved_errno;
    return handled;
  }
  return false;
}

void GuestMemory::update_fault_registration() {
  if (!tracked_ && !protected_code_) {
    unregister_for_faults(this);
    return;
  }
  if (!register_for_faults(this))
    throw VmkitError("more than " + std::to_string(kMaxFaultMemories) +
                     " guest memories with snapshots or writable code are alive; destroy unused machines");
}

// Saves a kCleanCow page and gives it its real (writable) protection; true if the page is
// writable on return. Async-signal-safe: the save area and the state map are already committed
// reservations (a first touch only faults in a zero page), and dirty_pages_ was sized at arm time.
bool GuestMemory::save_cow_page(uint64_t page) noexcept {
  auto st = state_ref(cow_state_, page);
  uint8_t s = kCleanCow;
  if (st.compare_exchange_strong(s, kCopying, std::memory_order_acq_rel)) {
    uint64_t off = page * P;
    std::memcpy(save_area_ + off, base_ + off, P);
    uint64_t i = dirty_count_.fetch_add(1, std::memory_order_relaxed);
    dirty_pages_[i] = uint32_t(page);
    // A page holding translated code stays read-only: the store faults again, and the
    // execution loop handles it as a store into code (see GuestMemory::mark_code).
    ::mprotect(base_ + off, P, code_pages_[page] ? PROT_READ : PROT_READ | PROT_WRITE);
    pages_saved_.fetch_add(1, std::memory_order_relaxed);
    st.store(kDirtyWritable, std::memory_order_release);
    return true;
  }
  // Another thread is saving it: wait, then let the store run again.
  while (s == kCopying) s = st.load(std::memory_order_acquire);
  // Anything else is not a copy-on-write fault (a page the guest cannot write, or unmapped):
  // the caller reports it as the guest's fault.
  return s == kDirtyWritable;
}

// ---- Host-side saving --------------------------------------------------------------------------

// (prepare_write's copy-on-write half; the caller checked the range)
void GuestMemory::save_cow_pages(uint64_t addr, uint64_t len) {
  if (!tracked_) return;
  for (uint64_t p = addr / P; p <= (addr + len - 1) / P; ++p)
    if (state_ref(cow_state_, p).load(std::memory_order_acquire) == kCleanCow) save_cow_page(p);
}

bool GuestMemory::cow_clean(uint64_t page) const {
  return tracked_ && state_ref(cow_state_, page).load(std::memory_order_acquire) == kCleanCow;
}

// Saves a kCleanNoWrite page (host protection host_prot(perm), possibly unreadable).
void GuestMemory::save_page_host(uint64_t page, int perm) {
  uint64_t off = page * P;
  int prot = host_prot(perm);
  if (!(prot & PROT_READ)) ::mprotect(base_ + off, P, PROT_READ);
  std::memcpy(save_area_ + off, base_ + off, P);
  if (!(prot & PROT_READ)) ::mprotect(base_ + off, P, prot);
  dirty_pages_[dirty_count_.fetch_add(1, std::memory_order_relaxed)] = uint32_t(page);
  pages_saved_.fetch_add(1, std::memory_order_relaxed);
}

// Before map/unmap/protect changes [addr, addr+len): pages of the tracked snapshot that are still
// clean there are saved first, and each page's state becomes next_state(its state).
template <class F> void GuestMemory::cow_before_change(uint64_t addr, uint64_t len, F&& next_state) {
  if (!tracked_) return;
  // Even a map into a free range changes the mappings: the restore must remove it.
  mappings_changed_ = true;
  for_each_piece(tracked_->regions_, addr, addr + len, [&](uint64_t s, uint64_t e, const Region* r) {
    if (!r) return;
    for (uint64_t p = s / P; p < e / P; ++p) {
      auto st = state_ref(cow_state_, p);
      uint8_t v = st.load(std::memory_order_acquire);
      if (v == kCleanCow) save_cow_page(p);
      else if (v == kCleanNoWrite) save_page_host(p, r->perm);
      st.store(next_state(v), std::memory_order_release);
    }
  });
}

void GuestMemory::cow_before_replace(uint64_t addr, uint64_t len) {
  cow_before_change(addr, len, [](uint8_t) { return kReplaced; });
}

void GuestMemory::cow_before_protect(uint64_t addr, uint64_t len, int perm) {
  // The page gets its new real protection from protect(); the state says whether a later fault
  // on it can be a copy-on-write one (never: it is saved already).
  cow_before_change(addr, len, [perm](uint8_t v) {
    return v == kReplaced ? kReplaced : (perm & kWrite) ? kDirtyWritable : kDirtyNoWrite;
  });
}

// ---- Tracking ----------------------------------------------------------------------------------

void GuestMemory::ensure_cow_areas() {
  // dirty_pages_ holds 32-bit page numbers (half the memory of 64-bit ones for big snapshots).
  if (size_ / P > UINT32_MAX) throw UsageError("snapshots need a guest address space of at most 16 TiB");
  if (!cow_state_) {
    void* p = ::mmap(nullptr, size_ / P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw VmkitError(std::string("cannot reserve the snapshot page-state map: ") + std::strerror(errno));
    cow_state_ = static_cast<uint8_t*>(p);
  }
  if (!save_area_) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw VmkitError(std::string("cannot reserve the snapshot save area: ") + std::strerror(errno));
    save_area_ = static_cast<uint8_t*>(p);
  }
}

// Makes `snap` the tracked snapshot. Expects regions_ to describe the snapshot's mappings, their
// contents to be the snapshot's and every page to have its real host protection.
void GuestMemory::arm_tracking(MemorySnapshot& snap) {
  ensure_cow_areas();
  if (!register_for_faults(this))
    throw VmkitError("cannot track a snapshot: " + std::to_string(kMaxFaultMemories) +
                     " guest memories already have one or writable code; destroy unused machines or snapshots");
  uint64_t pages = 0;
  for (const auto& [s, r] : regions_) pages += (r.end - s) / P;
  if (pages > dirty_capacity_) {
    dirty_pages_.reset(new uint32_t[pages]);
    dirty_capacity_ = pages;
  }
  dirty_count_.store(0, std::memory_order_relaxed);
  tracked_ = &snap;
  for (const auto& [s, r] : regions_) {
    uint64_t first = s / P, n = (r.end - s) / P;
    if (r.shared && (r.perm & kWrite)) {
      // Writable by others behind our back: always dirty (see snapshot.h).
      std::memcpy(save_area_ + s, base_ + s, r.end - s);
      for (uint64_t p = first; p < first + n; ++p) dirty_pages_[dirty_count_.fetch_add(1, std::memory_order_relaxed)] = uint32_t(p);
      std::memset(cow_state_ + first, kDirtyWritable, n);
      pages_saved_.fetch_add(n, std::memory_order_relaxed);
    } else if (r.perm & kWrite) {
      // State first, then the protection: a fault can only come after the mprotect.
      std::memset(cow_state_ + first, kCleanCow, n);
      ::mprotect(base_ + s, r.end - s, PROT_READ);
    } else {
      std::memset(cow_state_ + first, kCleanNoWrite, n);
    }
  }
  pinned_count_ = dirty_count_.load(std::memory_order_relaxed);
  mappings_changed_ = false;
}

void GuestMemory::stop_tracking(bool materialise_it) {
  if (!tracked_) return;
  MemorySnapshot& snap = *tracked_;
  if (materialise_it && !snap.materialised_) materialise(snap);
  // Real protections back (clean copy-on-write pages are the only ones without them).
  for (const auto& [s, r] : regions_)
    if (r.perm & kWrite) {
      ::mprotect(base_ + s, r.end - s, host_prot(r.perm));
      protect_code_pages(s, r.end - s, r.perm);
    }
  if (!protected_code_) unregister_for_faults(this);
  for (const auto& [s, r] : snap.regions_) {
    std::memset(cow_state_ + s / P, kUntracked, (r.end - s) / P);
    ::madvise(save_area_ + s, r.end - s, MADV_DONTNEED);  // give the saved copies' memory back
  }
  tracked_ = nullptr;
  dirty_count_.store(0, std::memory_order_relaxed);
  pinned_count_ = 0;
  mappings_changed_ = false;
}

void GuestMemory::end_tracking() { stop_tracking(true); }

// Copies the tracked snapshot's contents into its own buffers: saved pages from the save area,
// clean pages from guest memory (whose host protection is the snapshot's).
void GuestMemory::materialise(MemorySnapshot& snap) {
  snap.data_.clear();
  snap.data_.reserve(snap.regions_.size());
  for (const auto& [s, r] : snap.regions_) {
    std::vector<uint8_t>& buf = snap.data_.emplace_back(r.end - s);
    bool unreadable = !(host_prot(r.perm) & PROT_READ);
    uint64_t p = s / P, end = r.end / P;
    while (p < end) {
      // One run of pages with the same source.
      bool saved = is_saved(cow_state_[p]);
      uint64_t q = p + 1;
      while (q < end && is_saved(cow_state_[q]) == saved) ++q;
      uint8_t* dst = buf.data() + (p * P - s);
      uint64_t len = (q - p) * P;
      if (saved) {
        std::memcpy(dst, save_area_ + p * P, len);
      } else {
        if (unreadable) ::mprotect(base_ + p * P, len, PROT_READ);
        std::memcpy(dst, base_ + p * P, len);
        if (unreadable) ::mprotect(base_ + p * P, len, PROT_NONE);
      }
      p = q;
    }
  }
  snap.materialised_ = true;
  ++stats_.full_copies;
}

std::unique_ptr<MemorySnapshot> GuestMemory::snapshot() {
  stop_tracking(true);
  std::unique_ptr<MemorySnapshot> snap(new MemorySnapshot(this, regions_));
  live_snapshots_.push_back(snap.get());
  arm_tracking(*snap);
  return snap;
}

SnapshotStats GuestMemory::snapshot_stats() const {
  SnapshotStats s = stats_;
  s.pages_saved = pages_saved_.load(std::memory_order_relaxed);
  s.cow_faults = cow_faults_.load(std::memory_order_relaxed);
  return s;
}

// ---- Restore -----------------------------------------------------------------------------------

RestoreReport GuestMemory::restore(MemorySnapshot& snap) {
  if (snap.mem_ != this)
    throw UsageError("restore: the snapshot belongs to another guest memory (or one that no longer exists); "
                     "restore it on the machine it was taken from");
  RestoreReport rep;
  if (tracked_ == &snap) rep = mappings_changed_ ? restore_slow_tracked(snap) : restore_fast();
  else rep = restore_full(snap);
  ++stats_.restores;
  return rep;
}

// The common case: only the pages saved since the last restore differ from the snapshot.
RestoreReport GuestMemory::restore_fast() {
  RestoreReport rep;
  rep.fast = true;
  uint64_t n = dirty_count_.load(std::memory_order_relaxed);
  auto note_code = [&](uint64_t page) {
    if (!code_pages_[page]) return;
    if (!rep.code_ranges.empty() && rep.code_ranges.back().first + rep.code_ranges.back().second == page * P)
      rep.code_ranges.back().second += P;
    else
      rep.code_ranges.push_back({page * P, P});
  };
  for (uint64_t i = 0; i < n;) {
    // A run of consecutive pages (a guest writing a buffer dirties them in order) takes one
    // memcpy and one mprotect.
    uint64_t first = dirty_pages_[i], j = i + 1;
    while (j < n && dirty_pages_[j] == dirty_pages_[j - 1] + 1 && (i >= pinned_count_) == (j >= pinned_count_)) ++j;
    uint64_t count = j - i;
    std::memcpy(base_ + first * P, save_area_ + first * P, count * P);
    for (uint64_t p = first; p < first + count; ++p) note_code(p);
    if (i >= pinned_count_) {
      // Back to clean: the contents are the snapshot's again.
      std::memset(cow_state_ + first, kCleanCow, count);
      ::mprotect(base_ + first * P, count * P, PROT_READ);
    }
    i = j;
  }
  dirty_count_.store(pinned_count_, std::memory_order_relaxed);
  stats_.pages_restored += n;
  ++stats_.fast_restores;
  rep.pages_copied = n;
  return rep;
}

// Unmaps every mapped piece outside the regions of `keep`.
void GuestMemory::unmap_outside(const std::map<uint64_t, Region>& keep) {
  std::vector<std::pair<uint64_t, uint64_t>> extra;
  for (const auto& [s, r] : regions_)
    for_each_piece(keep, s, r.end, [&](uint64_t a, uint64_t b, const Region* k) {
      if (!k) extra.push_back({a, b});
    });
  for (auto [a, b] : extra) raw_unmap(a, b - a);
}

// The tracked snapshot after mapping changes: everything that differs is a saved page or a
// mapping made since.
RestoreReport GuestMemory::restore_slow_tracked(MemorySnapshot& snap) {
  RestoreReport rep;
  unmap_outside(snap.regions_);
  uint64_t n = dirty_count_.load(std::memory_order_relaxed);
  std::vector<uint64_t> replaced;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t p = dirty_pages_[i], off = p * P;
    if (cow_state_[p] == kReplaced) {
      // Whatever maps it now (or nothing) is not the snapshot's memory: fresh private memory.
      ::mmap(base_ + off, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
      replaced.push_back(p);
    } else {
      ::mprotect(base_ + off, P, PROT_READ | PROT_WRITE);
    }
    std::memcpy(base_ + off, save_area_ + off, P);
  }
  regions_ = snap.regions_;
  for (uint64_t p : replaced) {
    auto it = std::prev(regions_.upper_bound(p * P));
    if (it->second.shared) {
      Region r = it->second;
      set_regions(p * P, P, r.perm, r.name, false, /*shared=*/false);
    }
  }
  for (const auto& [s, r] : regions_) {
    ::mprotect(base_ + s, r.end - s, host_prot(r.perm));
    protect_code_pages(s, r.end - s, r.perm);
  }
  arm_tracking(snap);
  stats_.pages_restored += n;
  rep.pages_copied = n;
  rep.code_ranges.push_back({0, size_});
  return rep;
}

// An untracked (materialised) snapshot: a full copy, after which it is the tracked one.
RestoreReport GuestMemory::restore_full(MemorySnapshot& snap) {
  if (!snap.materialised_) throw std::logic_error("restore: an untracked snapshot has no copy of its contents");
  RestoreReport rep;
  stop_tracking(true);
  unmap_outside(snap.regions_);
  struct Fresh {
    uint64_t start, end;
    int perm;
    std::string name;
  };
  std::vector<Fresh> fresh;  // pieces given new private memory
  size_t i = 0;
  for (const auto& entry : snap.regions_) {
    // (not a structured binding: clang 14, which builds the fuzzers, cannot capture those)
    const uint64_t s = entry.first;
    const Region& r = entry.second;
    const std::vector<uint8_t>& data = snap.data_[i++];
    for_each_piece(regions_, s, r.end, [&](uint64_t a, uint64_t b, const Region* cur) {
      // Keep the current memory where it is of the same kind (a shared alias stays an alias);
      // otherwise the snapshot's contents get fresh private memory.
      if (cur && cur->shared == r.shared && ::mprotect(base_ + a, b - a, PROT_READ | PROT_WRITE) == 0) return;
      ::mmap(base_ + a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
      if (r.shared) fresh.push_back({a, b, r.perm, r.name});
    });
    std::memcpy(base_ + s, data.data(), r.end - s);
    rep.pages_copied += (r.end - s) / P;
  }
  regions_ = snap.regions_;
  for (const Fresh& f : fresh) set_regions(f.start, f.end - f.start, f.perm, f.name, false, /*shared=*/false);
  for (const auto& [s, r] : regions_) {
    ::mprotect(base_ + s, r.end - s, host_prot(r.perm));
    protect_code_pages(s, r.end - s, r.perm);
  }
  arm_tracking(snap);
  stats_.pages_restored += rep.pages_copied;
  ++stats_.full_copies;
  rep.code_ranges.push_back({0, size_});
  return rep;
}

}  // namespace vmkit
