// Copy-on-write snapshots of user-mode guest memory (the memory half of a machine snapshot; the
// machine adds registers).
//
// Model. One snapshot per GuestMemory is *tracked* at a time. While tracked, every guest page
// that was mapped when the snapshot was taken is either
//   - clean: its contents are still the snapshot's. Clean pages the guest may write are
//     host-protected read-only (guest permissions in regions() are unchanged), so the first write
//     to one faults: by guest code or any host code through a raw pointer (SIGSEGV, handled by
//     GuestMemory::handle_protection_fault from the process-wide handler in core/cpu.cpp), or through
//     GuestMemory::write/map/unmap/protect (saved without a fault). The page's old contents go
//     to the save area, the page is listed as dirty and gets its real protection back;
//   - dirty: saved, and the save area holds its snapshot contents for as long as the snapshot
//     stays tracked.
// restore() of the tracked snapshot copies only the dirty pages back and protects them again:
// O(dirty pages). If a mapping changed since the last restore (map/unmap/protect over or beside
// snapshot pages), it also unmaps what was mapped since, re-creates what was unmapped (from the
// save area: map/unmap over snapshot pages saves them first) and resets the permissions.
//
// When a snapshot stops being tracked (another snapshot is taken, or GuestMemory::end_tracking)
// it is materialised: it copies every page into its own buffer, so it stays restorable. Restoring
// an untracked snapshot is a full copy and makes it the tracked one again, so the loop
// `s = mem.snapshot(); for (...) { run(); mem.restore(*s); }` is O(dirty) per iteration.
// Destroying the tracked snapshot ends tracking (without copying).
//
// Shared memory (map_host aliases, MAP_SHARED files) can also be written through its other
// mappings, which no protection here can see. Its writable pages are therefore always dirty:
// saved when tracking starts and copied back by every restore (restore costs O(dirty + shared
// writable pages)). Read-only shared regions are not copied back: the guest cannot change them,
// and what their owner writes there is the owner's business. A shared page that is unmapped or
// replaced after the snapshot comes back with its contents as private memory: the alias itself
// cannot be re-created.
//
// Limitations. The kernel does not fault on our protections: host code must call
// GuestMemory::prepare_write before handing a guest buffer to a syscall that writes it (the
// Linux layer's guest_buf does). Each
// dirtied page of a larger read-only-protected mapping splits the host VMA; Linux allows about
// 65530 of them (vm.max_map_count), so a single run may dirty about 30000 scattered pages before
// the host refuses (adjacent dirty pages merge, and every restore merges them back).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "mmu/guest_memory.h"

namespace vmkit {

class MemorySnapshot {
 public:
  ~MemorySnapshot();
  MemorySnapshot(const MemorySnapshot&) = delete;
  MemorySnapshot& operator=(const MemorySnapshot&) = delete;

  // The mappings at snapshot time.
  const std::map<uint64_t, GuestMemory::Region>& regions() const { return regions_; }
  uint64_t mapped_bytes() const;
  bool tracked() const { return mem_ && mem_->tracked_ == this; }
  // Holds its own full copy (it has stopped being tracked at least once).
  bool materialised() const { return materialised_; }
  // The memory it belongs to; nullptr once that memory is destroyed (restore then throws).
  GuestMemory* memory() const { return mem_; }

 private:
  friend class GuestMemory;
  MemorySnapshot(GuestMemory* mem, std::map<uint64_t, GuestMemory::Region> regions)
      : mem_(mem), regions_(std::move(regions)) {}

  GuestMemory* mem_;
  std::map<uint64_t, GuestMemory::Region> regions_;
  // The full copy, one buffer per region in regions_ order. Snapshot contents never change, so
  // once made it stays valid.
  std::vector<std::vector<uint8_t>> data_;
  bool materialised_ = false;
};

}  // namespace vmkit
