// User-mode guest memory: the guest address space is one reserved range of host address space,
// so a guest address is an offset from base(). Guest permissions are host page protections
// (unmapped pages are PROT_NONE), which lets loads and stores run without software checks and
// turns a bad guest access into a host SIGSEGV that the execution loop converts into a guest
// fault. A region list (like the kernel's VMAs) keeps what the guest mapped, with its guest
// permissions, for mprotect/munmap/mmap placement and for copying from host code safely.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "frontend/frontend.h"

namespace vmkit {

enum Perm : int { kRead = 1, kWrite = 2, kExec = 4 };

// Thrown by host-side accessors (read/write/read_cstr) when the guest range is not accessible.
struct GuestAccessError : std::runtime_error {
  uint64_t addr;
  GuestAccessError(uint64_t a, const std::string& what) : std::runtime_error(what), addr(a) {}
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
  };
  const std::map<uint64_t, Region>& regions() const { return regions_; }

  // Anonymous zeroed memory at [addr, addr+len), replacing whatever was there (page aligned).
  void map(uint64_t addr, uint64_t len, int perm, const std::string& name = "");
  // A host file's contents at [addr, addr+len) (MAP_PRIVATE unless shared).
  void map_file(uint64_t addr, uint64_t len, int perm, int fd, off_t offset, bool shared,
                const std::string& name);
  void unmap(uint64_t addr, uint64_t len);
  void protect(uint64_t addr, uint64_t len, int perm);
  // True if every page of [addr, addr+len) is mapped with at least `perm`.
  bool accessible(uint64_t addr, uint64_t len, int perm) const;
  // Highest free, page-aligned range of len bytes that ends at or below `below` (0 if none).
  uint64_t find_free(uint64_t len, uint64_t below) const;

  // Host code's access to guest memory; throws GuestAccessError where the guest could not access.
  void read(uint64_t addr, void* out, size_t n) const;
  void write(uint64_t addr, const void* in, size_t n);
  std::string read_cstr(uint64_t addr, size_t max = 1 << 16) const;
  template <class T> T read_val(uint64_t addr) const { T v; read(addr, &v, sizeof v); return v; }
  template <class T> void write_val(uint64_t addr, const T& v) { write(addr, &v, sizeof v); }

  bool fetch(uint64_t addr, void* out, size_t n) const override;

  // Pages holding translated code: stores into them must invalidate translations.
  // One byte per guest page, in a lazily committed host mapping.
  uint8_t* code_page_map() const { return code_pages_; }
  void mark_code(uint64_t addr, uint64_t len);
  void unmark_code(uint64_t addr, uint64_t len);

 private:
  void set_regions(uint64_t addr, uint64_t len, int perm, const std::string& name, bool remove);
  static int host_prot(int perm);

  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint8_t* code_pages_ = nullptr;
  std::map<uint64_t, Region> regions_;
};

inline uint64_t page_down(uint64_t a) { return a & ~(GuestMemory::kPageSize - 1); }
inline uint64_t page_up(uint64_t a) { return (a + GuestMemory::kPageSize - 1) & ~(GuestMemory::kPageSize - 1); }

}  // namespace vmkit
