// The system bus of system mode: which device answers a physical address outside RAM. The soft MMU
// sends every access that misses RAM here; the bus finds the region holding the address and hands
// the device the offset inside it. The regions also describe the board to the device tree builder.
//
// Used on the guest CPU's thread only (the devices themselves take care of their other threads).
// Map every device before the guest runs: map() reorders the regions, which invalidates pointers
// that find() returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "devices/device.h"

namespace vmkit::devices {

struct BusRegion {
  uint64_t base = 0;
  uint64_t size = 0;
  Device* device = nullptr;
  std::string name;
  // Accesses the bus handed to the device (accepted or not), and those the device rejected.
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t rejected = 0;

  // Written as a difference so that a region ending at the top of the address space works.
  bool contains(uint64_t paddr) const { return paddr >= base && paddr - base < size; }
  uint64_t last() const { return base + size - 1; }  // the region's last byte (inclusive)
};

class Bus {
 public:
  Bus() = default;
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Maps `device` at [base, base + size). `name` defaults to device.name(); it names the region in
  // errors and statistics. UsageError for an empty region, one wrapping past 2^64, or one that
  // overlaps a region already mapped (the message names both).
  BusRegion& map(uint64_t base, uint64_t size, Device& device, std::string name = {});

  // The region holding paddr, or nullptr.
  BusRegion* find(uint64_t paddr);
  const BusRegion* find(uint64_t paddr) const;

  // A guest access of `size` bytes (1, 2, 4 or 8). false: nothing is mapped at paddr, the access
  // runs past the end of its region, the size is not one of those, or the device rejects it; the
  // CPU turns that into an access fault.
  bool read(uint64_t paddr, unsigned size, uint64_t& value);
  bool write(uint64_t paddr, unsigned size, uint64_t value);

  // Regions in increasing address order (for the device tree and statistics).
  const std::vector<BusRegion>& regions() const { return regions_; }
  // Calls reset() on every mapped device, in address order (machine reset).
  void reset_devices();
  void clear_stats();

 private:
  static constexpr size_t kNone = SIZE_MAX;
  size_t lookup(uint64_t paddr) const;  // index into regions_, or kNone
  // The region an access of `size` bytes at paddr goes to, with the offset inside it; nullptr if
  // there is none or the access does not fit in it.
  BusRegion* route(uint64_t paddr, unsigned size, uint64_t& offset);

  std::vector<BusRegion> regions_;
  // Index of the region the last find() hit: MMIO comes in runs against one device (a UART
  // driver polling LSR, a virtio queue notify), so this usually spares the binary search.
  mutable size_t last_hit_ = 0;
};

}  // namespace vmkit::devices
