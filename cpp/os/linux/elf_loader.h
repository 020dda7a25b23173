// Loads a Linux ELF program (riscv64 or aarch64: os/linux/arch.h) and its PT_INTERP dynamic
// linker into guest memory the way the kernel's binfmt_elf does, so the initial stack can
// describe it with the same auxv values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mmu/guest_memory.h"
#include "os/linux/arch.h"

namespace vmkit::linux_user {

// Where ET_DYN images go: the main program (PIE / static-pie) at qemu's usual base for 64-bit
// guests; the interpreter is placed below the stack like an mmap.
constexpr uint64_t kPieBase = 0x2aaaaab000;

// The checked headers of one ELF file.
struct ElfImage {
  std::string path;
  std::vector<uint8_t> data;  // the whole file (programs are small; this keeps parsing bounds-checked)
  uint16_t type = 0;          // ET_EXEC / ET_DYN
  const LinuxArch* arch = nullptr;  // from e_machine (only supported machines get this far)
  uint64_t entry = 0;
  uint64_t phoff = 0;
  uint16_t phentsize = 0, phnum = 0;
  std::string interp;         // PT_INTERP path, empty if none
  bool exec_stack = false;    // PT_GNU_STACK with PF_X
  uint64_t min_vaddr = 0, max_vaddr = 0;  // page-aligned span of the PT_LOAD segments
};

// Reads and validates `path`. Throws UsageError if the file cannot be read, ElfError for
// anything that makes it unloadable (not ELF, wrong class/endianness/machine, inconsistent headers).
ElfImage parse_elf(const std::string& path);
// Same for an in-memory image; `path` is only used in messages.
ElfImage parse_elf_bytes(const std::string& path, std::vector<uint8_t> data);

// What loading placed where (values for auxv and for brk).
struct LoadedImage {
  uint64_t load_bias = 0;  // added to every p_vaddr (0 for ET_EXEC)
  uint64_t entry = 0;      // relocated e_entry
  uint64_t phdr = 0;       // guest address of the program headers (AT_PHDR)
  uint16_t phent = 0, phnum = 0;
  uint64_t end = 0;        // highest byte of any segment (brk starts at page_up(end))
};

// Maps the PT_LOAD segments with their permissions and zeroed bss. `base` is used for ET_DYN
// images (ignored for ET_EXEC). Throws ElfError if a segment does not fit the guest address space.
LoadedImage load_elf(const ElfImage& img, GuestMemory& mem, uint64_t base);

// Finds the interpreter file for `interp` (an absolute guest path) under sysroot, falling back
// to $QEMU_LD_PREFIX, the arch's cross sysroot (/usr/riscv64-linux-gnu, ...) and the host path.
// Throws ElfError naming what was tried if none exists.
std::string find_interpreter(const std::string& interp, const std::string& sysroot, const LinuxArch& arch);

}  // namespace vmkit::linux_user
