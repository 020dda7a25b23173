#include "devices/riscv_boot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/errors.h"

namespace vmkit::devices {

namespace {

constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr uint64_t kPage = 4 * kKiB;
// RV64 kernels map themselves with 2 MiB pages: the load address must be 2 MiB aligned (setup_vm
// checks it), which is why text_offset is 0x200000.
constexpr uint64_t kKernelAlign = 2 * kMiB;
constexpr size_t kImageHeaderSize = 64;
constexpr uint64_t kMinimumMemory = 64 * kMiB;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

uint16_t le16(const std::vector<uint8_t>& b, size_t off) {
  return static_cast<uint16_t>(b[off] | b[off + 1] << 8);
}
uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[off + i]) << (8 * i);
  return v;
}
uint64_t le64(const std::vector<uint8_t>& b, size_t off) {
  return le32(b, off) | static_cast<uint64_t>(le32(b, off + 4)) << 32;
}
bool has_bytes(const std::vector<uint8_t>& b, size_t off, const char* magic, size_t len) {
  return b.size() >= off + len && std::memcmp(b.data() + off, magic, len) == 0;
}

// ELF e_machine values a kernel file is likely to carry, for "ELF for x86-64".
std::string elf_machine_name(uint16_t machine, bool is64) {
  switch (machine) {
    case 3: return "i386";
    case 62: return "x86-64";
    case 40: return "32-bit ARM";
    case 183: return "AArch64";
    case 243: return is64 ? "RISC-V 64-bit" : "RISC-V 32-bit";
    case 8: return "MIPS";
    case 20: return "PowerPC";
    case 21: return "PowerPC 64-bit";
    case 22: return "s390";
    case 258: return "LoongArch";
    default: return "machine " + std::to_string(machine);
  }
}

// What a file that is not a RISC-V Image is, or nullopt when it is not something we recognise.
std::optional<std::string> identify_other_format(const std::vector<uint8_t>& b, const std::string& name) {
  auto decompress = [&](const char* format, const char* tool) {
    return std::string(format) + "-compressed: decompress it first (e.g. " + tool + " " + name + " > Image)";
  };
  if (has_bytes(b, 0, "\x1f\x8b", 2)) return decompress("gzip", "zcat");
  if (has_bytes(b, 0, "\xfd" "7zXZ\0", 6)) return decompress("xz", "xzcat");
  if (has_bytes(b, 0, "\x28\xb5\x2f\xfd", 4)) return decompress("zstd", "zstdcat");
  if (has_bytes(b, 0, "BZh", 3)) return decompress("bzip2", "bzcat");
  if (has_bytes(b, 0, "\x04\x22\x4d\x18", 4) || has_bytes(b, 0, "\x02\x21\x4c\x18", 4))
    return decompress("lz4", "lz4cat");
  if (has_bytes(b, 0, "\x7f" "ELF", 4)) {
    if (b.size() < 20) return std::string("a truncated ELF file");
    const bool is64 = b[4] == 2;
    const bool big_endian = b[5] == 2;
    const uint16_t machine = big_endian ? static_cast<uint16_t>(b[18] << 8 | b[19]) : le16(b, 18);
    const std::string what = "ELF for " + elf_machine_name(machine, is64);
    // A vmlinux is linked at the kernel's virtual addresses and expects a boot loader that knows
    // its layout; its Image is the same code laid out for loading at RAM + text_offset.
    if (machine == 243)
      return what + " (a vmlinux?), not a RISC-V Image; boot the kernel's Image (arch/riscv/boot/Image, or "
                    "objcopy -O binary vmlinux Image)";
    return what + ", not a RISC-V Image; boot the kernel's Image (arch/riscv/boot/Image)";
  }
  if (has_bytes(b, 0, "MZ", 2) && has_bytes(b, 4, "zimg", 4)) {
    // EFI zboot: a PE stub that decompresses the Image itself, which needs UEFI. The compression
    // is named (NUL-padded) at 0x18.
    std::string comp;
    for (size_t i = 0x18; i < std::min<size_t>(b.size(), 0x18 + 32) && b[i]; ++i) {
      comp.push_back(static_cast<char>(b[i]));
    }
    return "an EFI zboot image (" + (comp.empty() ? std::string("compressed") : comp) +
           " payload, needs UEFI firmware); boot the uncompressed Image (arch/riscv/boot/Image)";
  }
  if (has_bytes(b, 0x38, "ARM\x64", 4)) return std::string("an arm64 Linux Image, not a RISC-V one");
  if (has_bytes(b, 0x202, "HdrS", 4)) return std::string("an x86 Linux bzImage, not a RISC-V Image");
  if (has_bytes(b, 0, "\x27\x05\x19\x56", 4))
    return std::string("a U-Boot uImage; boot the kernel's Image (arch/riscv/boot/Image) itself");
  return std::nullopt;
}

// A whole number of MiB or GiB as memory= takes it: "1G", "768M".
std::string memory_option(uint64_t bytes) {
  if (bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "G";
  return std::to_string(bytes / kMiB) + "M";
}

// The placement itself; says which piece did not fit instead of throwing, so that plan_boot can
// try larger memory sizes for its suggestion.
enum class Misfit { None, Kernel, Dtb, Initrd };

Misfit place(const KernelImage& k, uint64_t ram_base, uint64_t ram_size, uint64_t initrd_bytes, uint64_t dtb_bytes,
             BootLayout& out) {
  const uint64_t ram_end = ram_base + ram_size;
  out = {};
  out.kernel_start = ram_base + k.text_offset;
  if (k.text_offset > ram_size || k.image_size > ram_size - k.text_offset) return Misfit::Kernel;
  out.kernel_end = out.kernel_start + k.image_size;

  // qemu (riscv_load_fdt) puts the DTB in the last 2 MiB-aligned slot that holds it.
  if (dtb_bytes > ram_end - out.kernel_end) return Misfit::Dtb;
  out.dtb_start = align_down(ram_end - dtb_bytes, 2 * kMiB);
  out.dtb_end = out.dtb_start + dtb_bytes;
  if (out.dtb_start < out.kernel_end) return Misfit::Dtb;

  if (initrd_bytes == 0) return Misfit::None;
  // qemu (riscv_load_initrd): far enough up that nothing the kernel does early reaches it, at
  // most 128 MiB up so that it stays in low memory on big machines. Past the kernel's image_size
  // in any case: qemu's min(RAM/2, 128 MiB) alone would put it inside a 35 MiB kernel on 64 MiB.
  const uint64_t preferred =
      out.kernel_start + std::max(align_up(k.image_size, 2 * kMiB), std::min(ram_size / 2, 128 * kMiB));
  const uint64_t right_after_kernel = align_up(out.kernel_end, kPage);
  for (uint64_t start : {preferred, right_after_kernel}) {
    if (start <= out.dtb_start && initrd_bytes <= out.dtb_start - start) {
      out.initrd_start = start;
      out.initrd_end = start + initrd_bytes;
      return Misfit::None;
    }
  }
  return Misfit::Initrd;
}

// The smallest power-of-two memory= above ram_size in which everything fits, or "" if none does.
std::string suggest_memory(const KernelImage& k, uint64_t ram_base, uint64_t ram_size, uint64_t initrd_bytes,
                           uint64_t dtb_bytes) {
  BootLayout unused;
  for (uint64_t m = kMinimumMemory; m <= 1024 * kGiB; m *= 2) {
    if (m > ram_size && place(k, ram_base, m, initrd_bytes, dtb_bytes, unused) == Misfit::None) {
      return memory_option(m);
    }
  }
  return "";
}

}  // namespace

std::string format_size(uint64_t bytes) {
  struct Unit {
    uint64_t size;
    const char* name;
  };
  for (Unit u : {Unit{kGiB, "GiB"}, Unit{kMiB, "MiB"}, Unit{kKiB, "KiB"}}) {
    if (bytes < u.size) continue;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / static_cast<double>(u.size));
    std::string n = buf;
    if (n.size() > 2 && n.compare(n.size() - 2, 2, ".0") == 0) n.resize(n.size() - 2);
    return n + " " + u.name;
  }
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

std::vector<uint8_t> read_boot_file(const std::string& path, const std::string& what) {
  auto fail = [&](const std::string& why) { return BootError(what + " '" + path + "': " + why); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) throw fail(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw fail("is a directory");
  if (!S_ISREG(st.st_mode)) throw fail("is not a regular file");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(std::strerror(errno));
    if (n == 0) break;  // shrank while we read
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

KernelImage load_kernel_image(const std::string& path) {
  return parse_kernel_image(read_boot_file(path, "kernel"), path);
}

KernelImage parse_kernel_image(std::vector<uint8_t> bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return BootError("kernel '" + name + "': " + why); };
  if (bytes.empty()) throw fail("the file is empty");
  // The magic first: a real Image never matches the other formats' checks by accident.
  if (!has_bytes(bytes, 0x38, "RSC\x05", 4)) {
    if (auto other = identify_other_format(bytes, name)) throw fail(*other);
    if (bytes.size() < kImageHeaderSize)
      throw fail("too short for a RISC-V Image (" + format_size(bytes.size()) + "; the header alone is " +
                 std::to_string(kImageHeaderSize) + " bytes)");
    throw fail("not a RISC-V Linux Image: no 'RSC\\x05' magic at 0x38");
  }

  KernelImage k;
  k.path = name;
  k.text_offset = le64(bytes, 8);
  k.image_size = le64(bytes, 16);
  const uint64_t flags = le64(bytes, 24);
  const uint32_t version = le32(bytes, 32);
  k.version_major = static_cast<uint16_t>(version >> 16);
  k.version_minor = static_cast<uint16_t>(version);
  k.efi_stub = has_bytes(bytes, 0, "MZ", 2);
  if (flags & 1) throw fail("a big-endian RISC-V Image; vmkit runs little-endian guests");
  // Only kernels without an MMU (which cannot run here anyway) leave text_offset 0; load those
  // where every RV64 kernel with an MMU goes.
  if (k.text_offset == 0) k.text_offset = kKernelAlign;
  if (k.text_offset % kKernelAlign != 0)
    throw fail("text_offset " + hex(k.text_offset) + " is not a multiple of 2 MiB, where an RV64 kernel must load");
  // image_size covers the BSS, so it is normally larger than the file; a zero (very old headers)
  // or smaller value (data appended to the file, like a signature) means the file's own size.
  k.image_size = std::max<uint64_t>(k.image_size, bytes.size());
  k.bytes = std::move(bytes);
  return k;
}

BootLayout plan_boot(const KernelImage& kernel, uint64_t ram_base, uint64_t ram_size, size_t initrd_bytes,
                     size_t dtb_bytes) {
  if ((ram_base + kernel.text_offset) % kKernelAlign != 0)
    throw BootError("the kernel's load address " + hex(ram_base + kernel.text_offset) +
                    " (RAM base + text_offset) is not 2 MiB aligned");
  BootLayout layout;
  const Misfit misfit = place(kernel, ram_base, ram_size, initrd_bytes, dtb_bytes, layout);
  if (misfit == Misfit::None) return layout;

  const std::string suggestion = suggest_memory(kernel, ram_base, ram_size, initrd_bytes, dtb_bytes);
  const std::string use = suggestion.empty() ? "" : ": use memory='" + suggestion + "'";
  const std::string ram = format_size(ram_size) + " of RAM";
  const std::string kernel_where =
      "the kernel (" + format_size(kernel.image_size) + " at " + hex(ram_base + kernel.text_offset) + ")";
  switch (misfit) {
    case Misfit::Kernel:
      throw BootError("kernel image needs " + format_size(kernel.image_size) + " (image_size) at RAM + " +
                      format_size(kernel.text_offset) + " but the machine has " + ram +
                      ": use a larger memory=" + (suggestion.empty() ? "" : " (memory='" + suggestion + "' fits)"));
    case Misfit::Dtb:
      throw BootError("the device tree (" + format_size(dtb_bytes) + ") does not fit in " + ram + " after " +
                      kernel_where + use);
    case Misfit::Initrd:
      throw BootError("initrd (" + format_size(initrd_bytes) + ") does not fit in " + ram + " after " +
                      kernel_where + (suggestion.empty() ? ": the initrd is too large" : use));
    case Misfit::None:
      break;
  }
  return layout;
}

uint64_t parse_memory_size(const std::string& text) {
  const std::string shown = "memory='" + text + "'";
  const UsageError not_a_size(shown + " is not a size: give bytes or a number with K, M or G (e.g. memory='512M')");
  size_t i = 0;
  uint64_t n = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (n > (UINT64_MAX - digit) / 10) throw UsageError(shown + " is too large");
    n = n * 10 + digit;
  }
  if (i == 0) throw not_a_size;
  std::string suffix;
  for (; i < text.size(); ++i) suffix.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(text[i]))));
  int shift = -1;
  for (auto [unit, s] : {std::pair<char, int>{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}}) {
    if (suffix.empty() || suffix[0] != unit) continue;
    const std::string rest = suffix.substr(1);
    if (rest.empty() || rest == "B" || rest == "IB") shift = s;
  }
  if (suffix.empty()) shift = 0;
  if (shift < 0) throw not_a_size;
  if (shift > 0 && n > (UINT64_MAX >> shift)) throw UsageError(shown + " is too large");
  const uint64_t bytes = n << shift;
  if (bytes < kMinimumMemory)
    throw UsageError(shown + " is too small for a Linux kernel: give at least " + memory_option(kMinimumMemory));
  if (bytes % kPage != 0) throw UsageError(shown + " is not a whole number of 4 KiB pages");
  return bytes;
}

}  // namespace vmkit::devices
