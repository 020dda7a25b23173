// System mode's physical memory: the machine's RAM as one host mapping at a guest physical base,
// read-only memory regions (a boot ROM), plus the record of which physical RAM pages hold
// translated code (for self-modifying code, which
// system mode detects by physical page: a kernel patches its text through other virtual
// addresses than the ones it runs it at). Devices are not here: the Bus holds them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace vmkit {

class PhysicalMemory {
 public:
  static constexpr uint64_t kPageSize = 4096;

  // Reserves `ram_size` bytes (a multiple of the page size) of zeroed RAM at guest physical
  // `ram_base`. Host memory is committed only as the guest touches it (MAP_NORESERVE).
  PhysicalMemory(uint64_t ram_base, uint64_t ram_size);
  ~PhysicalMemory();
  PhysicalMemory(const PhysicalMemory&) = delete;
  PhysicalMemory& operator=(const PhysicalMemory&) = delete;

  uint64_t ram_base() const { return ram_base_; }
  uint64_t ram_size() const { return ram_size_; }
  uint64_t ram_end() const { return ram_base_ + ram_size_; }
  bool in_ram(uint64_t paddr, uint64_t len = 1) const {
    return paddr >= ram_base_ && len <= ram_size_ && paddr - ram_base_ <= ram_size_ - len;
  }
  // Host address of guest physical [paddr, paddr+len), or nullptr if that is not all RAM (the
  // memory the guest, devices and loaders may write).
  uint8_t* host(uint64_t paddr, uint64_t len = 1) { return in_ram(paddr, len) ? ram_ + (paddr - ram_base_) : nullptr; }
  // The same for reading and fetching: RAM or ROM.
  const uint8_t* readable_host(uint64_t paddr, uint64_t len = 1) const;
  // The physical address of a host address inside RAM or a ROM.
  uint64_t paddr_of(const uint8_t* host) const;

  // Adds a ROM of `bytes` (a whole number of pages, zero-padded) at `base`: the guest reads and
  // executes it, a guest store into it is an access fault. UsageError if it overlaps RAM or
  // another ROM.
  void add_rom(uint64_t base, const std::vector<uint8_t>& bytes, uint64_t size);
  // Replaces a ROM's contents (the board rewrites its reset vector for each boot).
  void load_rom(uint64_t base, const std::vector<uint8_t>& bytes);

  // Copies between the host and RAM (loaders, device DMA, Python). UsageError if the range is not
  // all RAM. A write into a page holding translations tells the code-write listener first.
  void write(uint64_t paddr, const void* data, size_t len);
  void read(uint64_t paddr, void* out, size_t len) const;

  // Pages holding translations. mark_code() is called by the execution loop for every page a new
  // translation was read from; a write by any path (guest store, DMA, loader) must then call
  // code_written(), which clears the mark and tells the listener to drop the page's translations.
  bool holds_code(uint64_t paddr) const {
    return in_ram(paddr) && code_pages_[(paddr - ram_base_) / kPageSize] != 0;
  }
  // Returns true if the page was not marked before (the caller then write-protects its mappings).
  bool mark_code(uint64_t paddr);
  void code_written(uint64_t paddr);
  std::function<void(uint64_t page_paddr)> on_code_written;

 private:
  struct Rom {
    uint64_t base;
    std::vector<uint8_t> bytes;
  };
  Rom* rom_at(uint64_t paddr);
  const Rom* rom_at(uint64_t paddr) const;

  uint64_t ram_base_;
  uint64_t ram_size_;
  uint8_t* ram_ = nullptr;
  std::vector<Rom> roms_;
  std::vector<uint8_t> code_pages_;  // 1 per RAM page that holds translations
};

}  // namespace vmkit
