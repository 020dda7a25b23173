// Kernel, initrd and DTB placement for the RISC-V virt board: Debian's real vmlinuz header, every
// kind of wrong kernel file with the message the user sees, the placement qemu uses and what is
// said when things do not fit, and the memory= syntax.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "devices/riscv_boot.h"

namespace vmkit::devices {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kDebianImageSize = 0x23a0000;  // 35.6 MiB: Debian 7.2.12's image_size

// A temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vmkit_boot_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return p.string();
  }

 private:
  fs::path path_;
};

void put_le(std::vector<uint8_t>& b, size_t off, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A RISC-V Image header (boot-image-header.rst) followed by zeros, `file_size` bytes in all.
std::vector<uint8_t> synthetic_image(size_t file_size = 4096, uint64_t text_offset = 0x200000,
                                     uint64_t image_size = kDebianImageSize, uint64_t flags = 0) {
  std::vector<uint8_t> b(file_size);
  b[0] = 'M';
  b[1] = 'Z';
  put_le(b, 8, text_offset, 8);
  put_le(b, 16, image_size, 8);
  put_le(b, 24, flags, 8);
  put_le(b, 32, 2, 4);  // version 0.2
  std::memcpy(b.data() + 0x30, "RISCV\0\0\0", 8);
  std::memcpy(b.data() + 0x38, "RSC\x05", 4);
  return b;
}

std::vector<uint8_t> elf_header(uint16_t machine, bool is64 = true) {
  std::vector<uint8_t> b(64);
  std::memcpy(b.data(), "\x7f" "ELF", 4);
  b[4] = is64 ? 2 : 1;
  b[5] = 1;  // little-endian
  b[6] = 1;
  put_le(b, 16, 2, 2);  // ET_EXEC
  put_le(b, 18, machine, 2);
  return b;
}

// The BootError message a kernel file gets.
std::string kernel_error(const std::string& path) {
  try {
    load_kernel_image(path);
  } catch (const BootError& e) {
    return e.what();
  }
  return "(no error)";
}

// Where ../shared/guests is: $VMKIT_SHARED_GUESTS, or beside the checkout (this file is
// main/tests/cpp/devices/), or relative to a test run from the checkout's root.
fs::path shared_guests() {
  if (const char* e = std::getenv("VMKIT_SHARED_GUESTS")) return e;
  for (fs::path p : {fs::path(__FILE__).parent_path() / "../../../../shared/guests", fs::path("../shared/guests")}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) return fs::weakly_canonical(p);
  }
  return {};
}

TEST(RiscvBoot, DebianVmlinuzIsAnImageWithTheKnownHeader) {
  const fs::path guests = shared_guests();
  fs::path deb;
  std::error_code ec;
  if (!guests.empty()) {
    for (const auto& entry : fs::directory_iterator(guests, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("linux-binary-", 0) == 0 && name.find("_riscv64.deb") != std::string::npos) deb = entry.path();
    }
  }
  if (deb.empty()) GTEST_SKIP() << "no linux-binary-*_riscv64.deb in ../shared/guests (or $VMKIT_SHARED_GUESTS)";
  TempDir dir;
  const std::string cmd = "dpkg -x '" + deb.string() + "' '" + dir.path().string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "dpkg -x " << deb << " failed";
  fs::path vmlinuz;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (entry.path().filename().string().rfind("vmlinuz", 0) == 0 && entry.is_regular_file()) vmlinuz = entry.path();
  }
  ASSERT_FALSE(vmlinuz.empty()) << deb << " holds no vmlinuz";

  KernelImage k = load_kernel_image(vmlinuz.string());
  EXPECT_EQ(k.text_offset, 0x200000u);
  EXPECT_EQ(k.image_size, kDebianImageSize);
  EXPECT_EQ(k.version_major, 0);
  EXPECT_EQ(k.version_minor, 2);
  EXPECT_TRUE(k.efi_stub);
  EXPECT_EQ(k.bytes.size(), fs::file_size(vmlinuz));
  EXPECT_EQ(k.path, vmlinuz.string());

  // What qemu -m 512 does with it (plan §2.2): initrd at 0x88200000, DTB at 0x9fe00000.
  BootLayout l = plan_boot(k, 0x80000000, 512 * kMiB, 1'100'000, 4000);
  EXPECT_EQ(l.kernel_start, 0x80200000u);
  EXPECT_EQ(l.kernel_end, 0x80200000u + kDebianImageSize);
  EXPECT_EQ(l.initrd_start, 0x88200000u);
  EXPECT_EQ(l.initrd_end, 0x88200000u + 1'100'000);
  EXPECT_EQ(l.dtb_start, 0x9fe00000u);
  EXPECT_EQ(l.dtb_end, 0x9fe00000u + 4000);
}

TEST(RiscvBoot, SyntheticImageHeaderFields) {
  KernelImage k = parse_kernel_image(synthetic_image(), "Image");
  EXPECT_EQ(k.text_offset, 0x200000u);
  EXPECT_EQ(k.image_size, kDebianImageSize);
  EXPECT_EQ(k.bytes.size(), 4096u);
  EXPECT_TRUE(k.efi_stub);
  // text_offset 0 (no-MMU kernels) loads at 2 MiB; an image_size below the file size is the file size.
  k = parse_kernel_image(synthetic_image(8192, 0, 100), "Image");
  EXPECT_EQ(k.text_offset, 0x200000u);
  EXPECT_EQ(k.image_size, 8192u);
}

TEST(RiscvBoot, MissingAndUnreadableFilesAreNamed) {
  TempDir dir;
  const std::string missing = (dir.path() / "no-such-vmlinuz").string();
  EXPECT_EQ(kernel_error(missing), "kernel '" + missing + "': No such file or directory");
  EXPECT_EQ(kernel_error(dir.path().string()), "kernel '" + dir.path().string() + "': is a directory");
  const std::string empty = dir.write("empty", {});
  EXPECT_EQ(kernel_error(empty), "kernel '" + empty + "': the file is empty");
  EXPECT_THROW(read_boot_file(missing, "initrd"), BootError);
  try {
    read_boot_file(missing, "initrd");
  } catch (const BootError& e) {
    EXPECT_EQ(std::string(e.what()), "initrd '" + missing + "': No such file or directory");
  }
}

TEST(RiscvBoot, WrongKernelFormatsSayWhatTheyAre) {
  TempDir dir;
  std::string p = dir.write("vmlinuz.gz", {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3});
  EXPECT_EQ(kernel_error(p), "kernel '" + p + "': gzip-compressed: decompress it first (e.g. zcat " + p + " > Image)");
  p = dir.write("vmlinuz.xz", {0xfd, '7', 'z', 'X', 'Z', 0, 0, 4});
  EXPECT_EQ(kernel_error(p), "kernel '" + p + "': xz-compressed: decompress it first (e.g. xzcat " + p + " > Image)");
  p = dir.write("vmlinuz.zst", {0x28, 0xb5, 0x2f, 0xfd, 0, 0});
  EXPECT_NE(kernel_error(p).find("zstd-compressed: decompress it first (e.g. zstdcat "), std::string::npos);

  p = dir.write("bzImage.elf", elf_header(62));
  EXPECT_EQ(kernel_error(p), "kernel '" + p +
                                 "': ELF for x86-64, not a RISC-V Image; boot the kernel's Image "
                                 "(arch/riscv/boot/Image)");
  p = dir.write("arm.elf", elf_header(183));
  EXPECT_NE(kernel_error(p).find("': ELF for AArch64, not a RISC-V Image"), std::string::npos);
  p = dir.write("vmlinux", elf_header(243));
  EXPECT_EQ(kernel_error(p), "kernel '" + p +
                                 "': ELF for RISC-V 64-bit (a vmlinux?), not a RISC-V Image; boot the kernel's "
                                 "Image (arch/riscv/boot/Image, or objcopy -O binary vmlinux Image)");

  p = dir.write("short", {'h', 'e', 'l', 'l', 'o'});
  EXPECT_EQ(kernel_error(p),
            "kernel '" + p + "': too short for a RISC-V Image (5 bytes; the header alone is 64 bytes)");
  p = dir.write("zeros", std::vector<uint8_t>(4096));
  EXPECT_EQ(kernel_error(p), "kernel '" + p + "': not a RISC-V Linux Image: no 'RSC\\x05' magic at 0x38");

  std::vector<uint8_t> arm64(4096);
  std::memcpy(arm64.data() + 0x38, "ARM\x64", 4);
  p = dir.write("arm64-Image", arm64);
  EXPECT_EQ(kernel_error(p), "kernel '" + p + "': an arm64 Linux Image, not a RISC-V one");
  std::vector<uint8_t> bzimage(4096);
  bzimage[0] = 'M';
  bzimage[1] = 'Z';
  std::memcpy(bzimage.data() + 0x202, "HdrS", 4);
  p = dir.write("bzImage", bzimage);
  EXPECT_EQ(kernel_error(p), "kernel '" + p + "': an x86 Linux bzImage, not a RISC-V Image");
  std::vector<uint8_t> zboot(4096);
  std::memcpy(zboot.data(), "MZ\0\0zimg", 8);
  std::memcpy(zboot.data() + 0x18, "zstd", 4);
  p = dir.write("vmlinuz.efi", zboot);
  EXPECT_EQ(kernel_error(p), "kernel '" + p +
                                 "': an EFI zboot image (zstd payload, needs UEFI firmware); boot the uncompressed "
                                 "Image (arch/riscv/boot/Image)");

  p = dir.write("big-endian", synthetic_image(4096, 0x200000, kDebianImageSize, 1));
  EXPECT_EQ(kernel_error(p), "kernel '" + p + "': a big-endian RISC-V Image; vmkit runs little-endian guests");
  p = dir.write("odd-offset", synthetic_image(4096, 0x1000));
  EXPECT_EQ(kernel_error(p), "kernel '" + p +
                                 "': text_offset 0x1000 is not a multiple of 2 MiB, where an RV64 kernel must load");
}

std::string plan_error(uint64_t ram_size, size_t initrd_bytes, size_t dtb_bytes = 4096) {
  try {
    plan_boot(parse_kernel_image(synthetic_image(), "Image"), 0x80000000, ram_size, initrd_bytes, dtb_bytes);
  } catch (const BootError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RiscvBoot, PlacementFollowsQemu) {
  const KernelImage k = parse_kernel_image(synthetic_image(), "Image");
  // 1 GiB: the initrd 128 MiB above the kernel.
  BootLayout l = plan_boot(k, 0x80000000, 1024 * kMiB, 5 * kMiB, 3000);
  EXPECT_EQ(l.initrd_start, 0x88200000u);
  EXPECT_EQ(l.dtb_start, 0xbfe00000u);
  // 64 MiB: half of RAM would be inside the kernel, so past its 2 MiB-rounded end instead.
  l = plan_boot(k, 0x80000000, 64 * kMiB, 4 * kMiB, 3000);
  EXPECT_EQ(l.initrd_start, 0x80200000u + 36 * kMiB);
  EXPECT_EQ(l.dtb_start, 0x83e00000u);
  // Too big for that slot but not for the space right after the kernel: the fallback.
  l = plan_boot(k, 0x80000000, 64 * kMiB, 24 * kMiB + 200 * 1024, 3000);
  EXPECT_EQ(l.initrd_start, 0x80200000u + kDebianImageSize);
  EXPECT_LE(l.initrd_end, l.dtb_start);
  // No initrd: none placed.
  l = plan_boot(k, 0x80000000, 512 * kMiB, 0, 3000);
  EXPECT_EQ(l.initrd_start, 0u);
  EXPECT_EQ(l.initrd_end, 0u);
  EXPECT_EQ(l.kernel_start, 0x80200000u);
  // A DTB bigger than 2 MiB still ends inside RAM.
  l = plan_boot(k, 0x80000000, 512 * kMiB, 0, 3 * kMiB);
  EXPECT_EQ(l.dtb_start, 0x9fc00000u);
  EXPECT_LE(l.dtb_end, 0xa0000000u);
}

TEST(RiscvBoot, WhatDoesNotFitSaysWhichMemoryWould) {
  EXPECT_EQ(plan_error(512 * kMiB, 500 * kMiB),
            "initrd (500 MiB) does not fit in 512 MiB of RAM after the kernel (35.6 MiB at 0x80200000): "
            "use memory='1G'");
  EXPECT_EQ(plan_error(32 * kMiB, 0),
            "kernel image needs 35.6 MiB (image_size) at RAM + 2 MiB but the machine has 32 MiB of RAM: "
            "use a larger memory= (memory='64M' fits)");
  EXPECT_EQ(plan_error(38 * kMiB, 0),
            "the device tree (4 KiB) does not fit in 38 MiB of RAM after the kernel (35.6 MiB at 0x80200000): "
            "use memory='64M'");
  EXPECT_EQ(plan_error(64 * kMiB, 30 * kMiB),
            "initrd (30 MiB) does not fit in 64 MiB of RAM after the kernel (35.6 MiB at 0x80200000): "
            "use memory='128M'");
  EXPECT_NE(plan_error(1024 * kMiB, 4000000 * kMiB).find(": the initrd is too large"), std::string::npos);
}

TEST(RiscvBoot, MemorySizes) {
  EXPECT_EQ(parse_memory_size("512M"), 512 * kMiB);
  EXPECT_EQ(parse_memory_size("1G"), 1024 * kMiB);
  EXPECT_EQ(parse_memory_size("2g"), 2048 * kMiB);
  EXPECT_EQ(parse_memory_size("65536K"), 64 * kMiB);
  EXPECT_EQ(parse_memory_size("512MiB"), 512 * kMiB);
  EXPECT_EQ(parse_memory_size("512MB"), 512 * kMiB);
  EXPECT_EQ(parse_memory_size("1T"), 1024 * 1024 * kMiB);
  EXPECT_EQ(parse_memory_size("134217728"), 128 * kMiB);

  auto error = [](const std::string& text) -> std::string {
    try {
      parse_memory_size(text);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error("16M"), "memory='16M' is too small for a Linux kernel: give at least 64M");
  EXPECT_EQ(error("1024K"), "memory='1024K' is too small for a Linux kernel: give at least 64M");
  const std::string not_a_size = "' is not a size: give bytes or a number with K, M or G (e.g. memory='512M')";
  for (const char* bad : {"", "abc", "M", "12X", "-5", "1.5G", "512 M", "512MiBs", "0x1000"}) {
    EXPECT_EQ(error(bad), std::string("memory='") + bad + not_a_size) << bad;
  }
  EXPECT_EQ(error("99999999999999999999"), "memory='99999999999999999999' is too large");
  EXPECT_EQ(error("99999999999T"), "memory='99999999999T' is too large");
  EXPECT_EQ(error("67108865"), "memory='67108865' is not a whole number of 4 KiB pages");
}

TEST(RiscvBoot, SizesInMessages) {
  EXPECT_EQ(format_size(kDebianImageSize), "35.6 MiB");
  EXPECT_EQ(format_size(512 * kMiB), "512 MiB");
  EXPECT_EQ(format_size(1024 * kMiB), "1 GiB");
  EXPECT_EQ(format_size(1536 * kMiB), "1.5 GiB");
  EXPECT_EQ(format_size(4096), "4 KiB");
  EXPECT_EQ(format_size(5), "5 bytes");
  EXPECT_EQ(format_size(1), "1 byte");
}

}  // namespace
}  // namespace vmkit::devices
