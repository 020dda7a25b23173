// sifive_test: the finisher codes qemu decodes (pass, fail with an exit code, reset), what it
// ignores, the access widths it accepts, and the request callback.
#include <gtest/gtest.h>

#include <vector>

#include "devices/sifive_test.h"

namespace vmkit::devices {
namespace {

TEST(SifiveTest, PassPowersOffWithExitCodeZero) {
  SifiveTest dev;
  EXPECT_EQ(dev.request(), PowerRequest::None);
  EXPECT_TRUE(dev.write(0, 4, 0x5555));
  EXPECT_EQ(dev.request(), PowerRequest::PowerOff);
  EXPECT_EQ(dev.exit_code(), 0);
}

TEST(SifiveTest, FailPowersOffWithTheExitCode) {
  SifiveTest dev;
  EXPECT_TRUE(dev.write(0, 4, 0x3333 | (42u << 16)));
  EXPECT_EQ(dev.request(), PowerRequest::PowerOff);
  EXPECT_EQ(dev.exit_code(), 42);
  EXPECT_TRUE(dev.write(0, 4, 0x3333 | (0xffffu << 16)));
  EXPECT_EQ(dev.exit_code(), 0xffff);
}

TEST(SifiveTest, ResetRequestAndDeviceResetClearsIt) {
  SifiveTest dev;
  EXPECT_TRUE(dev.write(0, 4, 0x7777));
  EXPECT_EQ(dev.request(), PowerRequest::Reset);
  EXPECT_EQ(dev.exit_code(), 0);
  dev.reset();  // the machine reset the board
  EXPECT_EQ(dev.request(), PowerRequest::None);
}

TEST(SifiveTest, OtherValuesAndOffsetsAreIgnored) {
  SifiveTest dev;
  EXPECT_TRUE(dev.write(0, 4, 0x1234));
  EXPECT_TRUE(dev.write(0, 4, 0x5556));
  EXPECT_TRUE(dev.write(4, 4, 0x5555));  // the finisher is at offset 0 only
  EXPECT_TRUE(dev.write(0xffc, 4, 0x7777));
  EXPECT_EQ(dev.request(), PowerRequest::None);
  uint64_t v = 1;
  EXPECT_TRUE(dev.read(0, 4, v));
  EXPECT_EQ(v, 0u);
}

TEST(SifiveTest, AcceptsTwoAndFourByteAccessesOnly) {
  SifiveTest dev;
  uint64_t v = 0;
  EXPECT_FALSE(dev.write(0, 1, 0x55));
  EXPECT_FALSE(dev.write(0, 8, 0x5555));
  EXPECT_FALSE(dev.read(0, 8, v));
  EXPECT_FALSE(dev.read(0, 1, v));
  EXPECT_FALSE(dev.write(2, 4, 0x5555));  // misaligned
  EXPECT_EQ(dev.request(), PowerRequest::None);
  EXPECT_TRUE(dev.write(0, 2, 0x5555));  // a halfword holds the whole status
  EXPECT_EQ(dev.request(), PowerRequest::PowerOff);
}

TEST(SifiveTest, CallbackSeesEachRequest) {
  SifiveTest dev;
  std::vector<std::pair<PowerRequest, int>> seen;
  dev.on_request = [&](PowerRequest r, int code) {
    EXPECT_EQ(dev.request(), r);  // recorded before the callback runs
    seen.emplace_back(r, code);
  };
  dev.write(0, 4, 0x7777);
  dev.write(0, 4, 0x1111);
  dev.write(0, 4, 0x3333 | (3u << 16));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(PowerRequest::Reset, 0));
  EXPECT_EQ(seen[1], std::make_pair(PowerRequest::PowerOff, 3));
}

}  // namespace
}  // namespace vmkit::devices
