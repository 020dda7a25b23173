// virtio-blk over the virtio-mmio transport, backed by temporary image files: the errors a user
// sees for images that cannot be used, the configuration (capacity, features, RO), requests as
// Linux's virtio_blk builds them (header, data, status in separate descriptors) and in other
// layouts, reads and writes checked against the file byte for byte, out-of-range and malformed
// requests, FLUSH, GET_ID, read-only disks; and disks on the virt board (slots, device tree,
// add-after-boot errors).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"
#include "devices/riscv_virt.h"
#include "devices/virtio_blk.h"
#include "virtio_test_driver.h"

namespace vmkit::devices {
namespace {

namespace fs = std::filesystem;
using testing::FakeIrq;
using testing::kRamBase;
using testing::kRamSize;
using testing::Seg;
using testing::TestDriver;
using namespace virtio_blk;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vmkit_blk_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Sector s of the test image: "sector s" then bytes that depend on s and the offset.
std::string sector_bytes(uint64_t s) {
  std::string b(kSectorSize, '\0');
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>((s * 31 + i * 7) & 0xff);
  const std::string label = "sector " + std::to_string(s);
  std::memcpy(b.data(), label.data(), label.size());
  return b;
}

std::string image_bytes(uint64_t sectors) {
  std::string b;
  for (uint64_t s = 0; s < sectors; ++s) b += sector_bytes(s);
  return b;
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string boot_error(const std::string& path, bool readonly) {
  try {
    VirtioBlk disk(path, readonly);
  } catch (const BootError& e) {
    return e.what();
  }
  return "(no error)";
}

// A disk on a transport with a driver that has set up its queue.
struct Rig {
  explicit Rig(const std::string& path, bool readonly = false, uint64_t accept = ~0ull)
      : disk(path, readonly), mmio(ram, irq, disk), drv(ram, mmio) {
    EXPECT_TRUE(drv.init({VirtioBlk::kQueueSize}, accept));
  }

  struct Result {
    uint8_t status = 0xff;
    uint32_t used_len = 0;
    bool completed = false;
  };

  uint64_t header(uint32_t type, uint64_t sector) {
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    const uint64_t at = drv.alloc(16);
    ram.write(at, h, 16);
    return at;
  }
  // Sends the chain, notifies, and collects its status byte (at `status_at`) and used length.
  Result submit(const std::vector<Seg>& segs, uint64_t status_at) {
    ram.write(status_at, "\xff", 1);
    const uint16_t head = drv.add_chain(0, segs);
    drv.notify(0);
    Result r;
    auto used = drv.next_used(0);
    if (!used) return r;
    EXPECT_EQ(used->first, head);
    r.completed = true;
    r.used_len = used->second;
    ram.read(status_at, &r.status, 1);
    return r;
  }
  // Linux's layout: header, data buffers, status byte, each its own descriptor.
  Result request(uint32_t type, uint64_t sector, std::vector<Seg> data) {
    const uint64_t st = drv.alloc(1);
    std::vector<Seg> segs{{header(type, sector), 16, false}};
    segs.insert(segs.end(), data.begin(), data.end());
    segs.push_back({st, 1, true});
    return submit(segs, st);
  }
  // Reads `sectors` sectors at `sector` into one buffer; returns its contents (status in *res).
  std::string read(uint64_t sector, uint32_t sectors, Result* res = nullptr) {
    const uint64_t buf = drv.alloc(sectors * kSectorSize);
    Result r = request(kTIn, sector, {{buf, sectors * kSectorSize, true}});
    if (res) *res = r;
    return drv.get(buf, sectors * kSectorSize);
  }
  Result write(uint64_t sector, const std::string& data) {
    return request(kTOut, sector, {{drv.put(data), uint32_t(data.size()), false}});
  }
  bool needs_reset() { return drv.status() & virtio::kStatusNeedsReset; }
  uint64_t config64(uint32_t offset) {
    uint64_t lo = 0, hi = 0;
    EXPECT_TRUE(mmio.read(VirtioMmio::kRegConfig + offset, 4, lo));
    EXPECT_TRUE(mmio.read(VirtioMmio::kRegConfig + offset + 4, 4, hi));
    return lo | (hi << 32);
  }
  uint32_t config32(uint32_t offset) {
    uint64_t v = 0;
    EXPECT_TRUE(mmio.read(VirtioMmio::kRegConfig + offset, 4, v));
    return static_cast<uint32_t>(v);
  }

  PhysicalMemory ram{kRamBase, kRamSize};
  FakeIrq irq;
  VirtioBlk disk;
  VirtioMmio mmio;
  TestDriver drv;
};

// ---- Opening images ----

TEST(VirtioBlk, AMissingImageIsABootErrorNamingIt) {
  TempDir dir;
  const std::string p = dir.path("nope.img");
  EXPECT_EQ(boot_error(p, false), "disk image '" + p + "': No such file or directory");
  EXPECT_EQ(boot_error(p, true), "disk image '" + p + "': No such file or directory");
}

TEST(VirtioBlk, AnImageThatIsNotWholeSectorsIsABootErrorSayingHowToPadIt) {
  TempDir dir;
  const std::string p = dir.write("odd.img", std::string(1000, 'x'));
  EXPECT_EQ(boot_error(p, false), "disk image '" + p + "' is 1000 bytes, not a whole number of 512-byte sectors: "
                                  "pad it (truncate -s %512 '" + p + "')");
}

TEST(VirtioBlk, ADirectoryIsNotAnImage) {
  TempDir dir;
  fs::create_directory(dir.path("d"));
  EXPECT_NE(boot_error(dir.path("d"), true).find("is not a regular file or block device"), std::string::npos);
}

// A file this process cannot open for writing: a mode 0444 file, or, for root (which may write
// it anyway), a read-only sysfs attribute.
std::string unwritable_file(const TempDir& dir) {
  const std::string p = dir.write("ro.img", std::string(1024, 'r'));
  ::chmod(p.c_str(), 0444);
  if (::access(p.c_str(), W_OK) != 0) return p;
  for (const char* sys : {"/sys/kernel/notes", "/sys/kernel/vmcoreinfo"}) {
    const int fd = ::open(sys, O_RDWR);
    if (fd >= 0) {
      ::close(fd);
      continue;
    }
    if (errno == EACCES) return sys;
  }
  return {};
}

TEST(VirtioBlk, AnUnwritableImageNeedsReadOnly) {
  TempDir dir;
  const std::string p = unwritable_file(dir);
  if (p.empty()) GTEST_SKIP() << "no file here that this process cannot write";
  EXPECT_EQ(boot_error(p, false), "disk image '" + p +
                                      "' is not writable (Permission denied): make it writable, or add the disk "
                                      "read-only");
}

TEST(VirtioBlk, AReadOnlyImageOpensReadOnly) {
  TempDir dir;
  const std::string p = dir.write("ro.img", image_bytes(4));
  ::chmod(p.c_str(), 0444);
  Rig r(p, true);
  EXPECT_EQ(r.read(2, 1), sector_bytes(2));
}

// ---- Configuration ----

TEST(VirtioBlk, ConfigurationAndFeatures) {
  TempDir dir;
  Rig r(dir.write("disk.img", image_bytes(40)));
  EXPECT_EQ(r.drv.reg(VirtioMmio::kRegDeviceId), 2u);
  EXPECT_EQ(r.config64(0), 40u);  // capacity in sectors
  EXPECT_EQ(r.config32(12), VirtioBlk::kSegMax);
  EXPECT_EQ(r.config32(20), 512u);  // blk_size
  const uint64_t f = r.drv.device_features();
  EXPECT_EQ(f & (kFSegMax | kFBlkSize | kFFlush | kFRo), kFSegMax | kFBlkSize | kFFlush);
  EXPECT_TRUE(f & virtio::kFVersion1);
  EXPECT_EQ(r.disk.capacity_sectors(), 40u);
}

TEST(VirtioBlk, AReadOnlyDiskOffersRo) {
  TempDir dir;
  Rig r(dir.write("disk.img", image_bytes(4)), true);
  EXPECT_TRUE(r.drv.device_features() & kFRo);
}

TEST(VirtioBlk, AnEmptyImageIsADiskOfNoSectors) {
  TempDir dir;
  Rig r(dir.write("empty.img", ""));
  EXPECT_EQ(r.config64(0), 0u);
  Rig::Result res;
  r.read(0, 1, &res);
  EXPECT_EQ(res.status, kSIoErr);
}

// ---- Requests ----

TEST(VirtioBlk, ReadsTheRightSectors) {
  TempDir dir;
  Rig r(dir.write("disk.img", image_bytes(64)));
  for (uint64_t s : {0u, 1u, 17u, 63u}) {
    Rig::Result res;
    EXPECT_EQ(r.read(s, 1, &res), sector_bytes(s)) << s;
    EXPECT_EQ(res.status, kSOk);
    EXPECT_EQ(res.used_len, 513u);  // the data and the status byte
  }
  Rig::Result res;
  EXPECT_EQ(r.read(10, 8, &res), image_bytes(18).substr(10 * 512));
  EXPECT_EQ(res.status, kSOk);
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.disk.stats().reads, 5u);
  EXPECT_EQ(r.disk.stats().bytes_read, 12u * 512);
}

TEST(VirtioBlk, ReadsScatterIntoUnevenBuffers) {
  TempDir dir;
  Rig r(dir.write("disk.img", image_bytes(16)));
  const uint64_t a = r.drv.alloc(100), b = r.drv.alloc(924), c = r.drv.alloc(1024);
  const Rig::Result res = r.request(kTIn, 5, {{a, 100, true}, {b, 924, true}, {c, 1024, true}});
  EXPECT_EQ(res.status, kSOk);
  EXPECT_EQ(r.drv.get(a, 100) + r.drv.get(b, 924) + r.drv.get(c, 1024), image_bytes(9).substr(5 * 512));
}

TEST(VirtioBlk, WritesReachTheFileAndReadBack) {
  TempDir dir;
  const std::string p = dir.write("disk.img", image_bytes(32));
  std::string expect = image_bytes(32);
  {
    Rig r(p);
    const std::string data = std::string(512, 'A') + std::string(512, 'B');
    Rig::Result res = r.write(7, data);
    EXPECT_EQ(res.status, kSOk);
    EXPECT_EQ(res.used_len, 1u);
    expect.replace(7 * 512, data.size(), data);
    // On the file at once (no caching in the device), and read back through the device.
    EXPECT_EQ(file_bytes(p), expect);
    EXPECT_EQ(r.read(7, 2), data);
    // Gathered from several buffers.
    const uint64_t x = r.drv.put(std::string(200, 'x')), y = r.drv.put(std::string(312, 'y'));
    res = r.request(kTOut, 31, {{x, 200, false}, {y, 312, false}});
    EXPECT_EQ(res.status, kSOk);
    expect.replace(31 * 512, 512, std::string(200, 'x') + std::string(312, 'y'));
    EXPECT_EQ(r.disk.stats().bytes_written, 3u * 512);
  }
  EXPECT_EQ(file_bytes(p), expect);
}

TEST(VirtioBlk, AnyLayoutHeaderAndDataInOneBuffer) {
  TempDir dir;
  const std::string p = dir.write("disk.img", image_bytes(8));
  Rig r(p);
  // OUT: header and data in one descriptor; status alone.
  std::string req(16 + 512, 'Z');
  const uint32_t type = kTOut;
  const uint64_t sector = 3;
  std::memcpy(req.data(), &type, 4);
  std::memset(req.data() + 4, 0, 4);
  std::memcpy(req.data() + 8, &sector, 8);
  const uint64_t buf = r.drv.put(req), st = r.drv.alloc(1);
  EXPECT_EQ(r.submit({{buf, uint32_t(req.size()), false}, {st, 1, true}}, st).status, kSOk);
  EXPECT_EQ(file_bytes(p).substr(3 * 512, 512), std::string(512, 'Z'));
  // IN: data and status in one writable descriptor.
  const uint64_t in = r.drv.alloc(513);
  const Rig::Result res = r.submit({{r.header(kTIn, 4), 16, false}, {in, 513, true}}, in + 512);
  EXPECT_EQ(res.status, kSOk);
  EXPECT_EQ(r.drv.get(in, 512), sector_bytes(4));
}

TEST(VirtioBlk, RequestsOutsideTheDiskFailWithIoErr) {
  TempDir dir;
  const std::string p = dir.write("disk.img", image_bytes(8));
  Rig r(p);
  Rig::Result res;
  r.read(8, 1, &res);
  EXPECT_EQ(res.status, kSIoErr);
  r.read(7, 2, &res);  // starts inside, ends past the end
  EXPECT_EQ(res.status, kSIoErr);
  r.read(~0ull / 512, 1, &res);  // sector * 512 overflows
  EXPECT_EQ(res.status, kSIoErr);
  res = r.write(8, std::string(512, 'w'));
  EXPECT_EQ(res.status, kSIoErr);
  res = r.write(~0ull, std::string(512, 'w'));
  EXPECT_EQ(res.status, kSIoErr);
  // Not whole sectors.
  const uint64_t buf = r.drv.alloc(100);
  EXPECT_EQ(r.request(kTIn, 0, {{buf, 100, true}}).status, kSIoErr);
  EXPECT_EQ(r.request(kTOut, 0, {{buf, 100, false}}).status, kSIoErr);
  EXPECT_EQ(file_bytes(p), image_bytes(8));
  EXPECT_EQ(r.disk.stats().errors, 7u);
  EXPECT_FALSE(r.needs_reset());
  // The last sector still reads.
  EXPECT_EQ(r.read(7, 1), sector_bytes(7));
}

TEST(VirtioBlk, AReadOnlyDiskRejectsWritesWithIoErr) {
  TempDir dir;
  const std::string p = dir.write("disk.img", image_bytes(8));
  Rig r(p, true);
  EXPECT_EQ(r.write(2, std::string(512, 'w')).status, kSIoErr);
  EXPECT_EQ(file_bytes(p), image_bytes(8));
  EXPECT_EQ(r.read(2, 1), sector_bytes(2));
  EXPECT_EQ(r.request(kTFlush, 0, {}).status, kSOk);
}

TEST(VirtioBlk, FlushGetIdAndUnsupportedRequests) {
  TempDir dir;
  Rig r(dir.write("my-disk.img", image_bytes(8)));
  EXPECT_EQ(r.request(kTFlush, 0, {}).status, kSOk);
  EXPECT_EQ(r.disk.stats().flushes, 1u);
  const uint64_t id = r.drv.alloc(20);
  const Rig::Result res = r.request(kTGetId, 0, {{id, 20, true}});
  EXPECT_EQ(res.status, kSOk);
  EXPECT_EQ(res.used_len, 21u);
  EXPECT_EQ(r.drv.get(id, 20), std::string("my-disk.img") + std::string(9, '\0'));
  for (uint32_t type : {kTDiscard, kTWriteZeroes, 0x1234u}) {
    const uint64_t b = r.drv.alloc(16);
    EXPECT_EQ(r.request(type, 0, {{b, 16, false}}).status, kSUnsupp) << type;
  }
  EXPECT_FALSE(r.needs_reset());
}

TEST(VirtioBlk, ALongNameIsCutTo20BytesForGetId) {
  TempDir dir;
  Rig r(dir.write("a-very-long-image-name-indeed.img", image_bytes(1)));
  const uint64_t id = r.drv.alloc(20);
  EXPECT_EQ(r.request(kTGetId, 0, {{id, 20, true}}).status, kSOk);
  EXPECT_EQ(r.drv.get(id, 20), "a-very-long-image-na");
}

TEST(VirtioBlk, ARequestWithoutHeaderOrStatusIsADeviceError) {
  TempDir dir;
  const std::string p = dir.write("disk.img", image_bytes(8));
  {
    Rig r(p);
    const uint64_t buf = r.drv.alloc(512);
    r.drv.add_chain(0, {{r.header(kTOut, 0), 16, false}, {buf, 512, false}});  // no status byte
    r.drv.notify(0);
    EXPECT_TRUE(r.needs_reset());
    EXPECT_NE(r.mmio.error().find("no header or no status byte"), std::string::npos);
  }
  {
    Rig r(p);
    const uint64_t hdr = r.drv.alloc(8), st = r.drv.alloc(1);
    r.drv.add_chain(0, {{hdr, 8, false}, {st, 1, true}});  // half a header
    r.drv.notify(0);
    EXPECT_TRUE(r.needs_reset());
  }
  EXPECT_EQ(file_bytes(p), image_bytes(8));
}

TEST(VirtioBlk, ReadingIntoAPageHoldingCodeDropsItsTranslations) {
  TempDir dir;
  Rig r(dir.write("disk.img", image_bytes(8)));
  std::vector<uint64_t> written;
  r.ram.on_code_written = [&](uint64_t page) { written.push_back(page); };
  const uint64_t buf = r.drv.alloc(4096, 4096);
  r.ram.mark_code(buf);
  EXPECT_EQ(r.request(kTIn, 1, {{buf, 512, true}}).status, kSOk);
  EXPECT_EQ(written, std::vector<uint64_t>{buf});
  EXPECT_EQ(r.drv.get(buf, 512), sector_bytes(1));
}

TEST(VirtioBlk, IndirectRequestsWithManySegments) {
  TempDir dir;
  Rig r(dir.write("disk.img", image_bytes(64)));
  // 32 data segments of one sector: more than fits in a small ring, as Linux sends big requests.
  std::vector<Seg> segs{{r.header(kTIn, 16), 16, false}};
  std::vector<uint64_t> bufs;
  for (int i = 0; i < 32; ++i) {
    bufs.push_back(r.drv.alloc(512));
    segs.push_back({bufs.back(), 512, true});
  }
  const uint64_t st = r.drv.alloc(1);
  segs.push_back({st, 1, true});
  r.drv.add_indirect(0, segs);
  r.drv.notify(0);
  ASSERT_TRUE(r.drv.next_used(0));
  uint8_t status = 0xff;
  r.ram.read(st, &status, 1);
  EXPECT_EQ(status, kSOk);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(r.drv.get(bufs[i], 512), sector_bytes(16 + i)) << i;
}

// ---- On the virt board ----

// A RISC-V Image header (boot-image-header.rst), small enough for a 64 MiB machine.
std::string tiny_kernel_image() {
  std::string b(4096, '\0');
  b[0] = 'M';
  b[1] = 'Z';
  const uint64_t text_offset = 0x200000, image_size = 0x100000;
  std::memcpy(b.data() + 8, &text_offset, 8);
  std::memcpy(b.data() + 16, &image_size, 8);
  b[32] = 2;
  std::memcpy(b.data() + 0x30, "RISCV\0\0\0", 8);
  std::memcpy(b.data() + 0x38, "RSC\x05", 4);
  return b;
}

std::unique_ptr<RiscvVirtMachine> small_machine() {
  RiscvVirtConfig c;
  c.memory = 64ull << 20;
  c.clock = RiscvVirtConfig::Clock::Virtual;
  return std::make_unique<RiscvVirtMachine>(c);
}

// The device tree's virtio_mmio nodes: unit address -> interrupt.
std::vector<std::pair<std::string, uint32_t>> virtio_nodes(const std::vector<uint8_t>& dtb) {
  std::vector<std::pair<std::string, uint32_t>> nodes;
  const void* fdt = dtb.data();
  const int soc = fdt_path_offset(fdt, "/soc");
  if (soc < 0) return nodes;
  int child;
  fdt_for_each_subnode(child, fdt, soc) {
    const std::string name = fdt_get_name(fdt, child, nullptr);
    if (name.rfind("virtio_mmio@", 0) != 0) continue;
    int len = 0;
    const void* irq = fdt_getprop(fdt, child, "interrupts", &len);
    uint32_t v = 0;
    if (irq && len == 4) v = fdt32_to_cpu(*static_cast<const fdt32_t*>(irq));
    nodes.emplace_back(name, v);
  }
  return nodes;
}

TEST(VirtioBlk, DisksTakeTheVirtBoardsSlotsInOrder) {
  TempDir dir;
  const std::string a = dir.write("a.img", image_bytes(8)), b = dir.write("b.img", image_bytes(16));
  auto m = small_machine();
  EXPECT_TRUE(virtio_nodes(m->dtb()).empty());
  m->add_disk(a);
  m->add_disk(b, true);
  m->add_virtio_console();
  ASSERT_EQ(m->virtio_count(), 3u);
  // The registers answer at qemu virt's addresses, through the bus.
  uint64_t v = 0;
  for (int slot = 0; slot < 3; ++slot) {
    ASSERT_TRUE(m->bus().read(0x10001000 + 0x1000 * slot, 4, v));
    EXPECT_EQ(v, 0x74726976u);
    ASSERT_TRUE(m->bus().read(0x10001000 + 0x1000 * slot + 8, 4, v));
    EXPECT_EQ(v, slot < 2 ? 2u : 3u) << slot;
  }
  EXPECT_FALSE(m->bus().read(0x10004000, 4, v));  // slot 3 is empty
  ASSERT_TRUE(m->bus().read(0x10002000 + 0x100, 4, v));
  EXPECT_EQ(v, 16u);  // b's capacity
  const auto nodes = virtio_nodes(m->dtb());
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0], std::make_pair(std::string("virtio_mmio@10001000"), 1u));
  EXPECT_EQ(nodes[1], std::make_pair(std::string("virtio_mmio@10002000"), 2u));
  EXPECT_EQ(nodes[2], std::make_pair(std::string("virtio_mmio@10003000"), 3u));
}

TEST(VirtioBlk, TheKernelsDeviceTreeListsTheDisks) {
  TempDir dir;
  const std::string kernel = dir.write("Image", tiny_kernel_image());
  auto m = small_machine();
  m->add_disk(dir.write("a.img", image_bytes(8)));
  m->load_kernel(kernel, "", "console=ttyS0");
  const auto nodes = virtio_nodes(m->dtb());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].first, "virtio_mmio@10001000");
  // The blob in RAM is the one dtb() returns: a1 points at it.
  std::vector<uint8_t> in_ram(m->dtb().size());
  m->ram().read(m->state().x[11], in_ram.data(), in_ram.size());
  EXPECT_EQ(in_ram, m->dtb());
}

TEST(VirtioBlk, DevicesCannotBeAddedAfterTheKernelIsLoaded) {
  TempDir dir;
  const std::string kernel = dir.write("Image", tiny_kernel_image());
  const std::string img = dir.write("a.img", image_bytes(8));
  auto m = small_machine();
  m->load_kernel(kernel, "", "console=ttyS0");
  try {
    m->add_disk(img);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot add a disk after load_kernel: the kernel's device tree would not list it; add devices first");
  }
  EXPECT_THROW(m->add_virtio_console(), UsageError);
  EXPECT_EQ(m->virtio_count(), 0u);
}

TEST(VirtioBlk, TheBoardHasEightSlots) {
  TempDir dir;
  const std::string img = dir.write("a.img", image_bytes(8));
  auto m = small_machine();
  for (int i = 0; i < 8; ++i) m->add_disk(img, true);
  try {
    m->add_disk(img, true);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot add a disk: the virt board's 8 virtio-mmio slots are all used");
  }
  EXPECT_EQ(virtio_nodes(m->dtb()).size(), 8u);
}

TEST(VirtioBlk, ABadImageLeavesTheBoardUnchanged) {
  TempDir dir;
  auto m = small_machine();
  EXPECT_THROW(m->add_disk(dir.path("missing.img")), BootError);
  EXPECT_EQ(m->virtio_count(), 0u);
  EXPECT_TRUE(virtio_nodes(m->dtb()).empty());
  uint64_t v;
  EXPECT_FALSE(m->bus().read(0x10001000, 4, v));
}

}  // namespace
}  // namespace vmkit::devices
