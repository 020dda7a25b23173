// Loading Linux on the RISC-V virt board, before any guest instruction runs: recognising the kernel
// file (a RISC-V `Image`, which Debian's EFI-stub vmlinuz is), choosing where the kernel, initrd
// and device tree go in RAM (qemu's placement, plan §2.2), and the `memory=` size syntax. Every
// problem with the user's files or sizes is a vmkit::BootError (or UsageError for memory=) whose
// message says what to change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vmkit::devices {

// A RISC-V Linux Image (Documentation/arch/riscv/boot-image-header.rst): the file is copied as is
// to RAM + text_offset and entered there in S-mode with a0 = hartid, a1 = DTB address, satp = 0.
// An EFI stub (code0 = "MZ") is fine: its first instruction is harmless and jumps to the real entry.
struct KernelImage {
  std::string path;            // for messages ("kernel 'PATH': ...")
  std::vector<uint8_t> bytes;  // the whole file
  uint64_t text_offset = 0;    // load offset from the start of RAM (0x200000 on RV64)
  // Bytes the kernel occupies from its load address, BSS included (at least bytes.size()): nothing
  // else may be placed there.
  uint64_t image_size = 0;
  uint16_t version_major = 0, version_minor = 0;  // header version (0.2 today)
  bool efi_stub = false;  // starts with "MZ" and a PE/COFF header (unused: vmkit boots it raw)
};

// Reads and checks a kernel file. BootError names the file and what it is instead: missing or
// unreadable, too short, compressed (gzip, xz, zstd, ...: decompress it first), an ELF (which
// machine; a riscv64 vmlinux is rejected too: boot its Image), an Image for another architecture,
// a big-endian Image, or anything else without the "RSC\x05" magic at 0x38.
KernelImage load_kernel_image(const std::string& path);
// The same checks on bytes already read; `name` stands for the file in messages.
KernelImage parse_kernel_image(std::vector<uint8_t> bytes, const std::string& name);

// A whole file for booting (kernel, initrd, firmware). BootError "<what> 'PATH': <reason>" when it is
// missing or unreadable.
std::vector<uint8_t> read_boot_file(const std::string& path, const std::string& what);

// Guest physical addresses chosen by plan_boot. Ends are exclusive; the kernel's entry point is
// kernel_start.
struct BootLayout {
  uint64_t kernel_start = 0, kernel_end = 0;  // kernel_end = kernel_start + image_size
  uint64_t initrd_start = 0, initrd_end = 0;  // both 0 without an initrd
  uint64_t dtb_start = 0, dtb_end = 0;
};

// Where qemu's virt board puts things, so the kernel sees what it sees under qemu:
// - the kernel at ram_base + text_offset;
// - the initrd at kernel_start + max(align_2M(image_size), min(ram_size / 2, 128 MiB)), or, when it
//   does not fit there, right after the kernel (page aligned);
// - the DTB at align_down(ram_end - dtb_bytes, 2 MiB).
// dtb_bytes is the size of the final blob: build it once with a placeholder initrd range inside
// RAM (the /chosen properties have a fixed size), plan, then build it again with the planned range.
// BootError when the kernel, initrd and DTB do not fit in RAM, suggesting a memory= that works.
BootLayout plan_boot(const KernelImage& kernel, uint64_t ram_base, uint64_t ram_size, size_t initrd_bytes,
                     size_t dtb_bytes);

// memory= as the user writes it: plain bytes or a number with K, M, G or T (binary units; "MiB",
// "MB" and lower case are accepted too), e.g. "512M", "1G", "1024K". UsageError when it is not a
// size, not a multiple of 4 KiB, or below 64 MiB (too small for a Linux kernel).
uint64_t parse_memory_size(const std::string& text);

// "35.6 MiB", "512 MiB", "12 KiB": how the messages above show sizes.
std::string format_size(uint64_t bytes);

}  // namespace vmkit::devices
