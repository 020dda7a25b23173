// User-mode guest memory: the guest address space is one reserved range of host address space,
// so a guest address is an offset from base(). Guest permissions are host page protections
// (unmapped pages are PROT_NONE), which lets loads and stores run without software checks and
// turns a bad guest access into a host SIGSEGV that the execution loop converts into a guest
// fault. A region list (like the kernel's VMAs) keeps what the guest mapped, with its guest
// permissions, for mprotect/munmap/mmap placement and for copying from host code safely.
// Copy-on-write snapshots of this memory are described in mmu/snapshot.h.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "frontend/frontend.h"

namespace vmkit {

enum Perm : int { kRead = 1, kWrite = 2, kExec = 4 };

// Thrown by host-side accessors (read/write/read_cstr) when the guest range is not accessible.
struct GuestAccessError : std::runtime_error {
  uint64_t addr;
  GuestAccessError(uint64_t a, const std::string& what) : std::runtime_error(what), addr(a) {}
};

class MemorySnapshot;

// Counters of the copy-on-write snapshot machinery (for tests, and for Python to show).
struct SnapshotStats {
  uint64_t pages_saved = 0;     // pages copied into the save area before their first change
  uint64_t cow_faults = 0;      // of those, saved by the SIGSEGV handler (raw stores)
  uint64_t pages_restored = 0;  // pages copied back by restores (the O(dirty) work)
  uint64_t restores = 0;        // all restores
  uint64_t fast_restores = 0;   // restores of the tracked snapshot with no mapping change
  uint64_t full_copies = 0;     // snapshot materialisations and restores of untracked snapshots
};

// What a restore changed that translated code may depend on: the caller (the machine, which owns
// the Cpu and its block cache) drops translations of these guest ranges.
struct RestoreReport {
  uint64_t pages_copied = 0;
  bool fast = false;  // O(dirty pages) path
  std::vector<std::pair<uint64_t, uint64_t>> code_ranges;  // [addr, addr+len) of changed code pages
};

class GuestMemory : public CodeSource {
 public:
  static constexpr uint64_t kPageSize = 4096;
  static constexpr uint64_t kDefaultSize = 1ull << 38;  // 256 GiB, the Sv39 user range

  explicit GuestMemory(uint64_t size = kDefaultSize);
  ~GuestMemory() override;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  uint8_t* host(uint64_t addr) const { return base_ + addr; }
  bool in_range(uint64_t addr, uint64_t len) const { return addr <= size_ && len <= size_ - addr; }

  struct Region {
    uint64_t end;
    int perm;          // kRead | kWrite | kExec
    std::string name;  // "[stack]", "[heap]", a file path, ...
    // Backed by memory that someone else can also write (map_host's buffer, a MAP_SHARED file),
    // so writes through the guest mapping are not the only changes it sees.
    bool shared = false;
  };
  const std::map<uint64_t, Region>& regions() const { return regions_; }

  // Anonymous zeroed memory at [addr, addr+len), replacing whatever was there (page aligned).
  void map(uint64_t addr, uint64_t len, int perm, const std::string& name = "");
  // A host file's contents at [addr, addr+len) (MAP_PRIVATE unless shared).
  void map_file(uint64_t addr, uint64_t len, int perm, int fd, off_t offset, bool shared,
                const std::string& name);
  void unmap(uint64_t addr, uint64_t len);
  void protect(uint64_t addr, uint64_t len, int perm);

  // Checked variants for the user-facing API (Unicorn's uc_mem_map/unmap/protect): they throw
  // UsageError, with a message that says what to change, for a zero or unaligned size
  // or address, a range outside the guest address space, an overlap with an existing mapping
  // (map_new) or a range that is not entirely mapped (unmap_checked/protect_checked).
  void map_new(uint64_t addr, uint64_t len, int perm, const std::string& name = "");
  void unmap_checked(uint64_t addr, uint64_t len);
  void protect_checked(uint64_t addr, uint64_t len, int perm);
  // Makes guest [addr, addr+len) alias caller-owned host memory, zero copy (uc_mem_map_ptr):
  // host_ptr must be a page-aligned MAP_SHARED mapping (Python's mmap.mmap(-1, n), a shared file
  // mapping) of at least len bytes, which must outlive the guest mapping. Checked like map_new.
  // Snapshots treat the region as always dirty (see MemorySnapshot).
  void map_host(uint64_t addr, void* host_ptr, uint64_t len, int perm, const std::string& name = "[host]");

  // True if every page of [addr, addr+len) is mapped with at least `perm`.
  bool accessible(uint64_t addr, uint64_t len, int perm) const;
  // Highest free, page-aligned range of len bytes that ends at or below `below` (0 if none).
  uint64_t find_free(uint64_t len, uint64_t below) const;

  // Host code's access to guest memory; throws GuestAccessError where the guest could not access.
  void read(uint64_t addr, void* out, size_t n) const;
  void write(uint64_t addr, const void* in, size_t n);
  std::string read_cstr(uint64_t addr, size_t max = 1 << 16) const;
  // A debugger's access (ptrace's, Unicorn's uc_mem_read/write): any mapped memory whatever the
  // guest may do with it, e.g. loading code into execute-only pages. The missing permission is
  // lent through protect() for the copy, so snapshots see the change. GuestAccessError where
  // unmapped.
  void debug_read(uint64_t addr, void* out, size_t n);
  void debug_write(uint64_t addr, const void* in, size_t n);
  template <class T> T read_val(uint64_t addr) const { T v; read(addr, &v, sizeof v); return v; }
  template <class T> void write_val(uint64_t addr, const T& v) { write(addr, &v, sizeof v); }

  bool fetch(uint64_t addr, void* out, size_t n) const override;

  // ---- Translated code: how stores into it are noticed (self-modifying code) ----
  // A page that holds translated code is marked (one byte per guest page, in a lazily committed
  // host mapping) and, where the guest may write it, host-protected read-only, so translated
  // code never checks its stores: the first store into such a page faults. The execution loop
  // (Cpu::run) sees a write fault on a marked page the guest may write, calls prepare_write for
  // it and runs the store again. prepare_write, which host code calls before writing guest memory,
  // tells the code watchers (the Cpu, which drops the page's translations) and gives the page
  // its write permission back (release_code). A mark may outlive the translations (dropping
  // translations does not release pages): the next store then costs one fault.
  struct CodeWatcher {
    // Guest code in [addr, addr+len) (whole pages) is about to change.
    virtual void code_written(uint64_t addr, uint64_t len) = 0;

   protected:
    ~CodeWatcher() = default;
  };
  void add_code_watcher(CodeWatcher* w) { code_watchers_.push_back(w); }
  void remove_code_watcher(CodeWatcher* w);
  bool holds_code(uint64_t addr) const { return in_range(addr, 1) && code_pages_[addr / kPageSize] != kNoCode; }
  // Marks the pages of [addr, addr+len) as holding code, write-protecting the writable ones.
  void mark_code(uint64_t addr, uint64_t len);
  // Host code that writes guest memory through a raw pointer without prepare_write (a Python
  // memory view, say) faults on a protected code page; the fault handler lets the write go ahead
  // and lists the page, whose translations this drops (the execution loop calls it before each
  // run, the hook dispatcher after each hook).
  void drop_stale_code();

  // ---- Copy-on-write snapshots (snapshot.cpp; the model is described in snapshot.h) ----
  // Captures the mappings and contents and makes the new snapshot the tracked one (a previously
  // tracked snapshot is materialised first, so it stays restorable).
  std::unique_ptr<MemorySnapshot> snapshot();
  // Puts mappings, permissions and contents back exactly as at the snapshot and makes it the
  // tracked one. O(pages changed since the last restore) for the tracked snapshot when no
  // mapping changed since; a full copy otherwise.
  RestoreReport restore(MemorySnapshot& snap);
  // Stops copy-on-write tracking (materialising the tracked snapshot) and gives every page its
  // real host protection back.
  void end_tracking();
  const MemorySnapshot* tracked_snapshot() const { return tracked_; }
  // Pages saved since tracking began or since the last restore (including always-dirty shared
  // pages).
  uint64_t dirty_page_count() const { return dirty_count_.load(std::memory_order_relaxed); }
  SnapshotStats snapshot_stats() const;
  // Host code (or the kernel, given a host pointer by a syscall) is about to write guest
  // [addr, addr+len) directly: drops translations of code there (through the code watchers) and
  // saves the copy-on-write pages there first, making them writable, so the writes neither fault
  // nor escape the snapshot or translated code. write() does this itself.
  void prepare_write(uint64_t addr, uint64_t len);
  // Called first by the process-wide SIGSEGV/SIGBUS handler. Returns true, after making the
  // page writable so the faulting store re-executes, if host_addr is
  //  - a copy-on-write protected page of a guest memory with an active snapshot (saved first), or
  //  - a write-protected code page written by host code (not by_guest_code: see drop_stale_code).
  // A guest store into a code page is left to the execution loop (Cpu::run). Async-signal-safe.
  static bool handle_protection_fault(void* host_addr, bool write, bool by_guest_code) noexcept;

 private:
  friend class MemorySnapshot;
  void set_regions(uint64_t addr, uint64_t len, int perm, const std::string& name, bool remove,
                   bool shared = false);
  static int host_prot(int perm);
  template <class F> void with_access(uint64_t addr, size_t n, int need, F&& access);
  void check_user_range(uint64_t addr, uint64_t len, const char* what) const;
  void check_free(uint64_t addr, uint64_t len, const char* what) const;
  // Translated-code bookkeeping (see mark_code): the state byte of each page.
  enum CodeState : uint8_t {
    kNoCode = 0,
    kCode = 1,                 // holds code; the guest cannot write it (host protection unchanged)
    kCodeWriteProtected = 2,   // holds code; guest-writable but host read-only
    kCodeStale = 3,            // was kCodeWriteProtected, then written by host code: writable,
                               // its translations to be dropped (drop_stale_code)
  };
  std::atomic_ref<uint8_t> code_state(uint64_t page) const { return std::atomic_ref<uint8_t>(code_pages_[page]); }
  bool take_host_code_write(uint64_t page) noexcept;
  void update_fault_registration();  // in the signal handler's list while it has protections
  void note_protected_code();
  void unmark_code(uint64_t addr, uint64_t len);                  // contents replaced or gone
  void release_code(uint64_t addr, uint64_t len);                 // unmark, give write back
  void protect_code_pages(uint64_t addr, uint64_t len, int perm);  // after an mprotect to perm
  const Region* region_at(uint64_t addr) const;
  bool cow_clean(uint64_t page) const;  // snapshot contents, host-protected until saved

  // Copy-on-write internals (snapshot.cpp).
  void cow_before_replace(uint64_t addr, uint64_t len);           // map/unmap over snapshot pages
  void cow_before_protect(uint64_t addr, uint64_t len, int perm);  // protect of snapshot pages
  template <class F> void cow_before_change(uint64_t addr, uint64_t len, F&& next_state);
  bool save_cow_page(uint64_t page) noexcept;
  void save_cow_pages(uint64_t addr, uint64_t len);
  void save_page_host(uint64_t page, int perm);
  void ensure_cow_areas();
  void arm_tracking(MemorySnapshot& snap);
  void stop_tracking(bool materialise);
  void materialise(MemorySnapshot& snap);
  void unmap_outside(const std::map<uint64_t, Region>& keep);
  void raw_unmap(uint64_t addr, uint64_t len);
  RestoreReport restore_fast();
  RestoreReport restore_slow_tracked(MemorySnapshot& snap);
  RestoreReport restore_full(MemorySnapshot& snap);

  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint8_t* code_pages_ = nullptr;
  std::vector<CodeWatcher*> code_watchers_;
  bool protected_code_ = false;  // some page was kCodeWriteProtected
  static constexpr uint64_t kMaxStalePages = 64;
  uint64_t stale_pages_[kMaxStalePages] = {};
  std::atomic<uint64_t> stale_count_{0};
  std::map<uint64_t, Region> regions_;

  // One byte per guest page (a CowState, snapshot.cpp) and a save area where the snapshot-time
  // copy of page p lives at offset p * kPageSize; both lazily committed host reservations,
  // created by the first snapshot.
  uint8_t* cow_state_ = nullptr;
  uint8_t* save_area_ = nullptr;
  // Pages saved since tracking began / the last restore. The first pinned_count_ entries are the
  // always-dirty pages of shared regions. Sized at arm time to the snapshot's page count (a page
  // is saved at most once per restore cycle), so the signal handler appends without allocating.
  std::unique_ptr<uint32_t[]> dirty_pages_;
  uint64_t dirty_capacity_ = 0;
  std::atomic<uint64_t> dirty_count_{0};
  uint64_t pinned_count_ = 0;
  bool mappings_changed_ = false;  // a map/unmap/protect since the last restore: slow restore
  MemorySnapshot* tracked_ = nullptr;
  std::vector<MemorySnapshot*> live_snapshots_;  // detached when this memory is destroyed
  SnapshotStats stats_;
  // Counted where the signal handler can count too.
  std::atomic<uint64_t> pages_saved_{0};
  std::atomic<uint64_t> cow_faults_{0};
};

inline uint64_t page_down(uint64_t a) { return a & ~(GuestMemory::kPageSize - 1); }
inline uint64_t page_up(uint64_t a) { return (a + GuestMemory::kPageSize - 1) & ~(GuestMemory::kPageSize - 1); }

}  // namespace vmkit
