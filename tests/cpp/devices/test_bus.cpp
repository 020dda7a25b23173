// System bus: routing to the region holding an address, offsets, unmapped holes, accesses running
// past a region's end, overlap errors, the last-hit cache, statistics and device reset.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "devices/bus.h"

namespace vmkit::devices {
namespace {

// Remembers every access; rejects the widths it is told to.
class RecordingDevice : public Device {
 public:
  explicit RecordingDevice(const char* name, uint64_t read_value = 0)
      : name_(name), read_value_(read_value) {}
  const char* name() const override { return name_; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override {
    accesses.push_back({false, offset, size, 0});
    if (size == rejected_size) return false;
    value = read_value_ + offset;
    return true;
  }
  bool write(uint64_t offset, unsigned size, uint64_t value) override {
    accesses.push_back({true, offset, size, value});
    return size != rejected_size;
  }
  void reset() override { ++resets; }

  struct Access {
    bool write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
  };
  std::vector<Access> accesses;
  unsigned rejected_size = 0;
  int resets = 0;

 private:
  const char* name_;
  uint64_t read_value_;
};

std::string map_error(Bus& bus, uint64_t base, uint64_t size, Device& d, const std::string& name) {
  try {
    bus.map(base, size, d, name);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Bus, RoutesToTheRegionWithTheOffset) {
  Bus bus;
  RecordingDevice uart("uart", 0x100), plic("plic", 0x200);
  bus.map(0x10000000, 0x100, uart);
  bus.map(0x0c000000, 0x600000, plic);
  uint64_t v = 0;
  ASSERT_TRUE(bus.read(0x10000005, 1, v));
  EXPECT_EQ(v, 0x105u);
  ASSERT_TRUE(bus.write(0x0c200004, 4, 0x1f));
  ASSERT_EQ(plic.accesses.size(), 1u);
  EXPECT_TRUE(plic.accesses[0].write);
  EXPECT_EQ(plic.accesses[0].offset, 0x200004u);
  EXPECT_EQ(plic.accesses[0].size, 4u);
  EXPECT_EQ(plic.accesses[0].value, 0x1fu);
  ASSERT_EQ(uart.accesses.size(), 1u);
  EXPECT_EQ(uart.accesses[0].offset, 5u);
  // Regions come out sorted, with the device's name when none was given.
  ASSERT_EQ(bus.regions().size(), 2u);
  EXPECT_EQ(bus.regions()[0].name, "plic");
  EXPECT_EQ(bus.regions()[1].base, 0x10000000u);
  EXPECT_EQ(bus.regions()[1].name, "uart");
}

TEST(Bus, FindsFirstAndLastByteAndNothingOutside) {
  Bus bus;
  RecordingDevice a("a"), b("b"), c("c");
  bus.map(0x2000, 0x1000, b);
  bus.map(0x1000, 0x1000, a);  // adjacent regions are not overlapping
  bus.map(0x8000, 0x10, c);
  EXPECT_EQ(bus.find(0x0fff), nullptr);
  EXPECT_EQ(bus.find(0x1000)->device, &a);
  EXPECT_EQ(bus.find(0x1fff)->device, &a);
  EXPECT_EQ(bus.find(0x2000)->device, &b);
  EXPECT_EQ(bus.find(0x2fff)->device, &b);
  EXPECT_EQ(bus.find(0x3000), nullptr);
  EXPECT_EQ(bus.find(0x800f)->device, &c);
  EXPECT_EQ(bus.find(0x8010), nullptr);
  EXPECT_EQ(bus.find(UINT64_MAX), nullptr);
  // The last-hit cache must not answer for an address outside the cached region.
  EXPECT_EQ(bus.find(0x1800)->device, &a);
  EXPECT_EQ(bus.find(0x2800)->device, &b);
  EXPECT_EQ(bus.find(0x0800), nullptr);
  EXPECT_EQ(bus.find(0x1800)->device, &a);
  const Bus& const_bus = bus;
  EXPECT_EQ(const_bus.find(0x8000)->name, "c");
}

TEST(Bus, RegionAtTheTopOfTheAddressSpace) {
  Bus bus;
  RecordingDevice top("top");
  bus.map(UINT64_MAX - 0xfff, 0x1000, top);
  EXPECT_EQ(bus.find(UINT64_MAX)->device, &top);
  uint64_t v = 0;
  EXPECT_TRUE(bus.read(UINT64_MAX - 7, 8, v));
  EXPECT_FALSE(bus.read(UINT64_MAX - 3, 8, v));  // would wrap around
  RecordingDevice wrap("wrap");
  EXPECT_NE(map_error(bus, UINT64_MAX - 0xf, 0x20, wrap, "wrap").find("past the end"), std::string::npos);
}

TEST(Bus, UnmappedStraddlingAndOddSizedAccessesFail) {
  Bus bus;
  RecordingDevice a("a"), b("b");
  bus.map(0x1000, 0x100, a);
  bus.map(0x1100, 0x100, b);
  uint64_t v = 0;
  EXPECT_FALSE(bus.read(0x0, 4, v));
  EXPECT_FALSE(bus.write(0x1200, 1, 0));
  EXPECT_FALSE(bus.read(0x10fe, 4, v));   // runs from a into b
  EXPECT_FALSE(bus.write(0x11fc, 8, 0));  // runs past b's end
  EXPECT_TRUE(bus.read(0x10fc, 4, v));
  EXPECT_FALSE(bus.read(0x1000, 3, v));
  EXPECT_FALSE(bus.read(0x1000, 0, v));
  EXPECT_FALSE(bus.write(0x1000, 16, 0));
  // None of the failed accesses reached a device.
  EXPECT_EQ(a.accesses.size(), 1u);
  EXPECT_TRUE(b.accesses.empty());
}

TEST(Bus, DeviceRejectionIsAFailureAndIsCounted) {
  Bus bus;
  RecordingDevice d("dev");
  d.rejected_size = 8;
  BusRegion& region = bus.map(0x4000, 0x1000, d);
  uint64_t v = 0;
  EXPECT_FALSE(bus.read(0x4000, 8, v));
  EXPECT_FALSE(bus.write(0x4008, 8, 1));
  EXPECT_TRUE(bus.read(0x4000, 4, v));
  EXPECT_TRUE(bus.write(0x4000, 2, 1));
  EXPECT_TRUE(bus.write(0x4000, 1, 1));
  EXPECT_EQ(region.reads, 2u);
  EXPECT_EQ(region.writes, 3u);
  EXPECT_EQ(region.rejected, 2u);
  bus.clear_stats();
  EXPECT_EQ(bus.regions()[0].reads + bus.regions()[0].writes + bus.regions()[0].rejected, 0u);
}

TEST(Bus, StatisticsArePerRegion) {
  Bus bus;
  RecordingDevice a("a"), b("b");
  bus.map(0x1000, 0x100, a, "uart0");
  bus.map(0x2000, 0x100, b, "rtc");
  uint64_t v = 0;
  for (int i = 0; i < 5; ++i) bus.read(0x1005, 1, v);
  for (int i = 0; i < 3; ++i) bus.write(0x2000, 4, i);
  bus.read(0x3000, 4, v);  // unmapped: counted nowhere
  EXPECT_EQ(bus.regions()[0].name, "uart0");
  EXPECT_EQ(bus.regions()[0].reads, 5u);
  EXPECT_EQ(bus.regions()[0].writes, 0u);
  EXPECT_EQ(bus.regions()[1].reads, 0u);
  EXPECT_EQ(bus.regions()[1].writes, 3u);
}

TEST(Bus, OverlapErrorNamesBothRegions) {
  Bus bus;
  RecordingDevice plic("plic"), uart("uart"), other("other");
  bus.map(0x0c000000, 0x600000, plic);
  bus.map(0x10000000, 0x100, uart, "uart0");
  // Overlapping the region below (its tail), the one above (its head), containing one, inside one.
  const std::string below = map_error(bus, 0x0c5ff000, 0x2000, other, "virtio0");
  EXPECT_NE(below.find("'virtio0' [0xc5ff000, 0xc600fff]"), std::string::npos) << below;
  EXPECT_NE(below.find("'plic' [0xc000000, 0xc5fffff]"), std::string::npos) << below;
  const std::string above = map_error(bus, 0x0fffff00, 0x200, other, "virtio1");
  EXPECT_NE(above.find("'virtio1'"), std::string::npos) << above;
  EXPECT_NE(above.find("'uart0' [0x10000000, 0x100000ff]"), std::string::npos) << above;
  EXPECT_NE(map_error(bus, 0x0b000000, 0x2000000, other, "big").find("'plic'"), std::string::npos);
  EXPECT_NE(map_error(bus, 0x10000010, 0x10, other, "small").find("'uart0'"), std::string::npos);
  EXPECT_NE(map_error(bus, 0x5000, 0, other, "empty").find("empty"), std::string::npos);
  EXPECT_EQ(bus.regions().size(), 2u);  // failed maps leave the bus as it was
}

TEST(Bus, ResetDevicesResetsEachDeviceOnce) {
  Bus bus;
  RecordingDevice a("a"), b("b");
  bus.map(0x1000, 0x100, a);
  bus.map(0x2000, 0x100, b);
  bus.map(0x3000, 0x100, a, "a-alias");
  bus.reset_devices();
  EXPECT_EQ(a.resets, 1);
  EXPECT_EQ(b.resets, 1);
}

}  // namespace
}  // namespace vmkit::devices
