// System bus: sorted, non-overlapping regions, found by binary search behind a last-hit cache.
#include "devices/bus.h"

#include <algorithm>
#include <iterator>

#include "core/errors.h"

namespace vmkit::devices {

namespace {

std::string describe(const std::string& name, uint64_t base, uint64_t size) {
  // [first, last] rather than [base, end): the end of a region at the top of memory is 2^64.
  return "'" + name + "' [" + hex(base) + ", " + hex(base + size - 1) + "]";
}

bool valid_size(unsigned size) { return size == 1 || size == 2 || size == 4 || size == 8; }

}  // namespace

BusRegion& Bus::map(uint64_t base, uint64_t size, Device& device, std::string name) {
  if (name.empty()) name = device.name();
  if (size == 0) throw UsageError("Bus::map: region '" + name + "' at " + hex(base) + " is empty");
  if (size - 1 > UINT64_MAX - base)
    throw UsageError("Bus::map: region '" + name + "' at " + hex(base) + " of size " + hex(size) +
                     " runs past the end of the physical address space");
  // The first region starting above base; only it and its predecessor can overlap [base, last].
  auto next = std::upper_bound(regions_.begin(), regions_.end(), base,
                               [](uint64_t b, const BusRegion& r) { return b < r.base; });
  const uint64_t last = base + size - 1;
  auto overlap_error = [&](const BusRegion& other) {
    return UsageError("Bus::map: " + describe(name, base, size) + " overlaps " +
                      describe(other.name, other.base, other.size));
  };
  if (next != regions_.begin() && std::prev(next)->last() >= base) throw overlap_error(*std::prev(next));
  if (next != regions_.end() && next->base <= last) throw overlap_error(*next);

  BusRegion region;
  region.base = base;
  region.size = size;
  region.device = &device;
  region.name = std::move(name);
  auto it = regions_.insert(next, std::move(region));
  last_hit_ = 0;  // indices moved
  return *it;
}

size_t Bus::lookup(uint64_t paddr) const {
  if (last_hit_ < regions_.size() && regions_[last_hit_].contains(paddr)) return last_hit_;
  auto next = std::upper_bound(regions_.begin(), regions_.end(), paddr,
                               [](uint64_t p, const BusRegion& r) { return p < r.base; });
  if (next == regions_.begin()) return kNone;
  const size_t index = static_cast<size_t>(std::prev(next) - regions_.begin());
  if (!regions_[index].contains(paddr)) return kNone;
  last_hit_ = index;
  return index;
}

BusRegion* Bus::find(uint64_t paddr) {
  const size_t index = lookup(paddr);
  return index == kNone ? nullptr : &regions_[index];
}

const BusRegion* Bus::find(uint64_t paddr) const {
  const size_t index = lookup(paddr);
  return index == kNone ? nullptr : &regions_[index];
}

BusRegion* Bus::route(uint64_t paddr, unsigned size, uint64_t& offset) {
  if (!valid_size(size)) return nullptr;
  BusRegion* region = find(paddr);
  if (region == nullptr) return nullptr;
  offset = paddr - region->base;
  // An access straddling the region's end would reach a neighbour (or nothing) with its tail.
  if (size > region->size - offset) return nullptr;
  return region;
}

bool Bus::read(uint64_t paddr, unsigned size, uint64_t& value) {
  uint64_t offset = 0;
  BusRegion* region = route(paddr, size, offset);
  if (region == nullptr) return false;
  ++region->reads;
  if (region->device->read(offset, size, value)) return true;
  ++region->rejected;
  return false;
}

bool Bus::write(uint64_t paddr, unsigned size, uint64_t value) {
  uint64_t offset = 0;
  BusRegion* region = route(paddr, size, offset);
  if (region == nullptr) return false;
  ++region->writes;
  if (region->device->write(offset, size, value)) return true;
  ++region->rejected;
  return false;
}

void Bus::reset_devices() {
  std::vector<Device*> done;  // a device mapped at several windows is reset once
  for (BusRegion& r : regions_) {
    if (std::find(done.begin(), done.end(), r.device) != done.end()) continue;
    r.device->reset();
    done.push_back(r.device);
  }
}

void Bus::clear_stats() {
  for (BusRegion& r : regions_) r.reads = r.writes = r.rejected = 0;
}

}  // namespace vmkit::devices
