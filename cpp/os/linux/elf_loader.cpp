#include "os/linux/elf_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/errors.h"

namespace vmkit::linux_user {

namespace {

// Names of machines people commonly hand us by mistake, for the "wrong architecture" message.
std::string machine_name(uint16_t m) {
  switch (m) {
    case EM_X86_64: return "x86-64 (EM_X86_64)";
    case EM_386: return "i386 (EM_386)";
    case EM_ARM: return "arm (EM_ARM)";
    case EM_PPC64: return "ppc64 (EM_PPC64)";
    case EM_PPC: return "ppc (EM_PPC)";
    case EM_MIPS: return "mips (EM_MIPS)";
    case EM_S390: return "s390 (EM_S390)";
  }
  return "machine " + std::to_string(m);
}

std::string printable_prefix(const std::vector<uint8_t>& d) {
  std::string s;
  for (size_t i = 0; i < std::min<size_t>(d.size(), 4); ++i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", d[i]);
    s += buf;
  }
  return s.empty() ? "an empty file" : "bytes " + s;
}

int elf_perm(uint32_t flags) {
  int p = 0;
  if (flags & PF_R) p |= kRead;
  if (flags & PF_W) p |= kWrite;
  if (flags & PF_X) p |= kExec;
  return p;
}

const Elf64_Phdr& phdr_at(const ElfImage& img, unsigned i) {
  return *reinterpret_cast<const Elf64_Phdr*>(img.data.data() + img.phoff + size_t(i) * img.phentsize);
}

}  // namespace

ElfImage parse_elf(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    throw UsageError("cannot open program '" + path + "': " + std::strerror(e) +
                     (e == ENOENT ? " (check the path)" : ""));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UsageError("program '" + path + "' is not a regular file");
  }
  std::vector<uint8_t> data(size_t(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      throw UsageError("cannot read program '" + path + "': " + (n < 0 ? std::strerror(e) : "file shrank while reading"));
    }
    got += size_t(n);
  }
  ::close(fd);
  return parse_elf_bytes(path, std::move(data));
}

ElfImage parse_elf_bytes(const std::string& path, std::vector<uint8_t> data) {
  const std::string q = "'" + path + "'";
  if (data.size() < 4 || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0)
    throw ElfError(q + " is not an ELF file (it starts with " + printable_prefix(data) + "); vmkit runs " + supported_arch_names() + " Linux ELF programs");
  if (data.size() < EI_NIDENT) throw ElfError(q + " is truncated: the ELF identification is incomplete");
  if (data[EI_CLASS] != ELFCLASS64)
    throw ElfError(q + " is a " + (data[EI_CLASS] == ELFCLASS32 ? "32-bit" : "malformed-class") +
                   " ELF; vmkit runs 64-bit " + supported_arch_names() + " programs (ELFCLASS64)");
  if (data[EI_DATA] != ELFDATA2LSB)
    throw ElfError(q + " is a big-endian ELF; vmkit runs little-endian " + supported_arch_names() + " programs");
  if (data.size() < sizeof(Elf64_Ehdr)) throw ElfError(q + " is truncated: the ELF header needs 64 bytes, the file has " + std::to_string(data.size()));
  Elf64_Ehdr eh;
  std::memcpy(&eh, data.data(), sizeof eh);
  const LinuxArch* arch = linux_arch_for_machine(eh.e_machine);
  if (!arch)
    throw ElfError(q + " is an ELF for " + machine_name(eh.e_machine) + ", vmkit runs " + supported_arch_names() +
                   " programs (" + supported_machine_names() + ")");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    throw ElfError(q + " is not an executable (ELF type " + std::to_string(eh.e_type) +
                   (eh.e_type == ET_REL ? ", a relocatable object: link it first" : eh.e_type == ET_CORE ? ", a core dump" : "") + ")");
  if (eh.e_phentsize != sizeof(Elf64_Phdr))
    throw ElfError(q + " has program headers of " + std::to_string(eh.e_phentsize) + " bytes, expected " + std::to_string(sizeof(Elf64_Phdr)) + ": the headers are corrupt");
  if (eh.e_phnum == 0) throw ElfError(q + " has no program headers: nothing to load");
  if (eh.e_phoff > data.size() || uint64_t(eh.e_phnum) * eh.e_phentsize > data.size() - eh.e_phoff)
    throw ElfError(q + " is truncated or corrupt: its program headers (offset " + hex(eh.e_phoff) + ", " +
                   std::to_string(eh.e_phnum) + " entries) extend beyond the end of the file (" + std::to_string(data.size()) + " bytes)");
  if (eh.e_phoff % 8) throw ElfError(q + " has misaligned program headers (offset " + hex(eh.e_phoff) + ")");

  ElfImage img;
  img.path = path;
  img.type = eh.e_type;
  img.arch = arch;
  img.entry = eh.e_entry;
  img.phoff = eh.e_phoff;
  img.phentsize = eh.e_phentsize;
  img.phnum = eh.e_phnum;
  img.data = std::move(data);

  bool have_load = false;
  uint64_t prev_end = 0;
  for (unsigned i = 0; i < img.phnum; ++i) {
    const Elf64_Phdr& ph = phdr_at(img, i);
    const std::string which = q + " program header " + std::to_string(i);
    switch (ph.p_type) {
      case PT_LOAD: {
        if (ph.p_filesz > ph.p_memsz)
          throw ElfError(which + " (PT_LOAD) has p_filesz " + hex(ph.p_filesz) + " > p_memsz " + hex(ph.p_memsz) + ": the file is corrupt");
        if (ph.p_offset > img.data.size() || ph.p_filesz > img.data.size() - ph.p_offset)
          throw ElfError(which + " (PT_LOAD) refers to file bytes [" + hex(ph.p_offset) + ", " + hex(ph.p_offset + ph.p_filesz) +
                         ") beyond the end of the file (" + hex(img.data.size()) + " bytes): the file is truncated");
        if ((ph.p_vaddr - ph.p_offset) % GuestMemory::kPageSize)
          throw ElfError(which + " (PT_LOAD) has p_vaddr " + hex(ph.p_vaddr) + " and p_offset " + hex(ph.p_offset) +
                         " that differ modulo the 4096-byte page size");
        if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr || ph.p_vaddr + ph.p_memsz > (1ull << 38))
          throw ElfError(which + " (PT_LOAD) at " + hex(ph.p_vaddr) + " of size " + hex(ph.p_memsz) + " lies outside the 2^38-byte guest address space");
        if (ph.p_memsz == 0) break;
        uint64_t start = ph.p_vaddr, end = ph.p_vaddr + ph.p_memsz;
        if (have_load && start < prev_end)
          throw ElfError(which + " (PT_LOAD) at " + hex(start) + " overlaps or precedes the previous segment ending at " + hex(prev_end) +
                         ": segments must be sorted and disjoint");
        if (!have_load) img.min_vaddr = page_down(start);
        img.max_vaddr = page_up(end);
        prev_end = end;
        have_load = true;
        break;
      }
      case PT_INTERP: {
        if (ph.p_offset > img.data.size() || ph.p_filesz > img.data.size() - ph.p_offset || ph.p_filesz < 2)
          throw ElfError(which + " (PT_INTERP) lies beyond the end of the file or is empty: the file is corrupt");
        const char* s = reinterpret_cast<const char*>(img.data.data() + ph.p_offset);
        img.interp.assign(s, strnlen(s, ph.p_filesz));
        break;
      }
      case PT_GNU_STACK:
        img.exec_stack = (ph.p_flags & PF_X) != 0;
        break;
      default:
        break;
    }
  }
  if (!have_load) throw ElfError(q + " has no loadable (PT_LOAD) segments");
  return img;
}

LoadedImage load_elf(const ElfImage& img, GuestMemory& mem, uint64_t base) {
  LoadedImage out;
  out.load_bias = img.type == ET_DYN ? base - img.min_vaddr : 0;
  out.entry = img.entry + out.load_bias;
  out.phent = img.phentsize;
  out.phnum = img.phnum;
  if (img.max_vaddr + out.load_bias > mem.size())
    throw ElfError("'" + img.path + "' does not fit the guest address space when loaded at " + hex(out.load_bias));

  bool phdr_found = false;
  for (unsigned i = 0; i < img.phnum; ++i) {
    const Elf64_Phdr& ph = phdr_at(img, i);
    if (ph.p_type == PT_PHDR) {
      out.phdr = ph.p_vaddr + out.load_bias;
      phdr_found = true;
    }
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    uint64_t vaddr = ph.p_vaddr + out.load_bias;
    uint64_t start = page_down(vaddr), end = page_up(vaddr + ph.p_memsz);
    // Map writable first and copy the file bytes in; the rest of the pages (the bss, including
    // the tail of the last file page) stays zero because map() gives zeroed memory. Segments
    // may share a page at their boundary: keep the earlier segment's bytes there.
    int perm = elf_perm(ph.p_flags);
    uint64_t map_start = start;
    if (mem.accessible(start, GuestMemory::kPageSize, 0)) {
      mem.protect(start, GuestMemory::kPageSize, kRead | kWrite);
      map_start = start + GuestMemory::kPageSize;
    }
    if (end > map_start) mem.map(map_start, end - map_start, kRead | kWrite, img.path);
    std::memcpy(mem.host(vaddr), img.data.data() + ph.p_offset, ph.p_filesz);
    mem.protect(start, end - start, perm);
    // The program headers are in this segment's file bytes: AT_PHDR (when no PT_PHDR says so).
    if (!phdr_found && img.phoff >= ph.p_offset && img.phoff - ph.p_offset < ph.p_filesz) {
      out.phdr = vaddr + (img.phoff - ph.p_offset);
      phdr_found = true;
    }
    out.end = std::max(out.end, vaddr + ph.p_memsz);
  }
  return out;
}

std::string find_interpreter(const std::string& interp, const std::string& sysroot, const LinuxArch& arch) {
  std::vector<std::string> roots;
  if (!sysroot.empty()) {
    roots.push_back(sysroot);
  } else {
    if (const char* e = std::getenv("QEMU_LD_PREFIX"); e && *e) roots.push_back(e);
    roots.push_back(arch.default_sysroot);
    roots.push_back("");  // the host path itself
  }
  std::string tried;
  for (const std::string& r : roots) {
    std::string p = r + interp;
    if (::access(p.c_str(), R_OK) == 0) return p;
    tried += (tried.empty() ? "" : ", ") + (r.empty() ? std::string("/") : r);
  }
  throw ElfError("the program needs interpreter " + interp + ", not found under sysroot " + tried +
                 "; install it (e.g. " + arch.sysroot_package + ") or pass -L/path/to/sysroot");
}

}  // namespace vmkit::linux_user
