// ELF loader: hand-built images check that each class of bad input is rejected with a message
// naming the problem, and that a good image is mapped with the right permissions and bss.
#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/errors.h"
#include "linux_test_util.h"
#include "mmu/guest_memory.h"
#include "os/linux/elf_loader.h"
#include "os/linux/process.h"

namespace vmkit::linux_user {
namespace {

using Seg = ElfSegment;

// A minimal ELF64 image: header, program headers, then `body` at offset 0x1000.
std::vector<uint8_t> make_elf(const std::vector<Seg>& segs, uint16_t machine = EM_RISCV, uint8_t cls = ELFCLASS64,
                              size_t body_size = 0x2000, uint16_t type = ET_EXEC) {
  return make_elf_image(machine, 0x10000, segs, 0x1000 + body_size, type, cls);
}

std::vector<Seg> good_segments() {
  return {Seg{PT_LOAD, PF_R | PF_X, 0x1000, 0x10000, 0x100, 0x100},
          Seg{PT_LOAD, PF_R | PF_W, 0x2000, 0x21000, 0x80, 0x3000}};
}

std::string elf_error(std::vector<uint8_t> data) {
  try {
    parse_elf_bytes("prog", std::move(data));
  } catch (const ElfError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ElfLoader, RejectsNonElf) {
  std::vector<uint8_t> d = {'#', '!', '/', 'b', 'i', 'n'};
  std::string m = elf_error(d);
  EXPECT_NE(m.find("'prog' is not an ELF file"), std::string::npos) << m;
  EXPECT_NE(m.find("23 21 2f 62"), std::string::npos) << m;
  EXPECT_NE(elf_error({}).find("empty file"), std::string::npos);
}

TEST(ElfLoader, RejectsWrongClassEndianMachine) {
  EXPECT_NE(elf_error(make_elf(good_segments(), EM_RISCV, ELFCLASS32)).find("32-bit"), std::string::npos);
  auto be = make_elf(good_segments());
  be[EI_DATA] = ELFDATA2MSB;
  EXPECT_NE(elf_error(be).find("big-endian"), std::string::npos);
  std::string m = elf_error(make_elf(good_segments(), EM_386));
  EXPECT_NE(m.find("i386 (EM_386), vmkit runs riscv64, aarch64 or x86_64 programs (EM_RISCV, EM_AARCH64 or EM_X86_64)"),
            std::string::npos)
      << m;
  m = elf_error(make_elf(good_segments(), EM_PPC64));
  EXPECT_NE(m.find("'prog' is an ELF for ppc64 (EM_PPC64)"), std::string::npos) << m;
  EXPECT_NE(elf_error(make_elf(good_segments(), EM_RISCV, ELFCLASS64, 0x2000, ET_REL)).find("relocatable"), std::string::npos);
}

TEST(ElfLoader, RejectsTruncatedAndInconsistentHeaders) {
  auto d = make_elf(good_segments());
  d.resize(40);
  EXPECT_NE(elf_error(d).find("truncated"), std::string::npos);

  auto many = make_elf(good_segments());
  reinterpret_cast<Elf64_Ehdr*>(many.data())->e_phnum = 5000;
  EXPECT_NE(elf_error(many).find("program headers"), std::string::npos);
  EXPECT_NE(elf_error(many).find("beyond the end of the file"), std::string::npos);

  auto segs = good_segments();
  segs[1].filesz = 0x4000;  // > memsz
  EXPECT_NE(elf_error(make_elf(segs)).find("p_filesz"), std::string::npos);

  segs = good_segments();
  segs[1].filesz = segs[1].memsz = 0x3000;  // runs past the 0x3000-byte file
  EXPECT_NE(elf_error(make_elf(segs)).find("beyond the end of the file"), std::string::npos);

  segs = good_segments();
  segs[1].vaddr = 0x10000;  // overlaps the first segment
  segs[1].offset = 0x1000;
  EXPECT_NE(elf_error(make_elf(segs)).find("overlaps"), std::string::npos);

  segs = good_segments();
  segs[1].vaddr = 0x21010;  // vaddr and offset disagree modulo the page size
  EXPECT_NE(elf_error(make_elf(segs)).find("page size"), std::string::npos);

  EXPECT_NE(elf_error(make_elf({Seg{PT_NOTE, PF_R, 0x1000, 0, 0x10, 0x10}})).find("no loadable"), std::string::npos);
}

TEST(ElfLoader, MissingFileIsAUsageError) {
  EXPECT_THROW(parse_elf("/nonexistent/vmkit/prog"), UsageError);
  try {
    parse_elf("/nonexistent/vmkit/prog");
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open program '/nonexistent/vmkit/prog'"), std::string::npos);
  }
}

TEST(ElfLoader, MapsSegmentsWithPermissionsAndZeroedBss) {
  auto d = make_elf(good_segments());
  for (size_t i = 0; i < 0x100; ++i) d[0x1000 + i] = uint8_t(i + 1);
  // Data: 0x80 file bytes, then garbage in the file that must not show up in the bss.
  for (size_t i = 0; i < 0x1000; ++i) d[0x2000 + i] = 0xAB;
  ElfImage img = parse_elf_bytes("good", d);
  GuestMemory mem(1ull << 30);
  LoadedImage li = load_elf(img, mem, kPieBase);
  EXPECT_EQ(li.load_bias, 0u);
  EXPECT_EQ(li.entry, 0x10000u);
  EXPECT_EQ(li.phdr, 0u) << "no segment maps the program headers here, so AT_PHDR is 0 (as in Linux 6.x)";
  EXPECT_EQ(li.end, 0x24000u);
  EXPECT_TRUE(mem.accessible(0x10000, 0x1000, kRead | kExec));
  EXPECT_FALSE(mem.accessible(0x10000, 1, kWrite));
  EXPECT_TRUE(mem.accessible(0x21000, 0x3000, kRead | kWrite));
  EXPECT_FALSE(mem.accessible(0x21000, 1, kExec));
  EXPECT_FALSE(mem.accessible(0x20000, 1, 0));
  EXPECT_EQ(mem.read_val<uint8_t>(0x10000), 1);
  EXPECT_EQ(mem.read_val<uint8_t>(0x100fe), 0xff);
  EXPECT_EQ(mem.read_val<uint8_t>(0x10100), 0) << "the rest of the text page is zero";
  EXPECT_EQ(mem.read_val<uint8_t>(0x2107f), 0xAB);
  EXPECT_EQ(mem.read_val<uint8_t>(0x21080), 0) << "bss starts right after p_filesz, even within the file's page";
  EXPECT_EQ(mem.read_val<uint64_t>(0x23ff8), 0u);
}

TEST(ElfLoader, PieIsLoadedAtTheBase) {
  auto segs = good_segments();
  segs[0].vaddr = 0x0;
  segs[1].vaddr = 0x11000;
  auto d = make_elf(segs, EM_RISCV, ELFCLASS64, 0x2000, ET_DYN);
  reinterpret_cast<Elf64_Ehdr*>(d.data())->e_entry = 0x40;
  ElfImage img = parse_elf_bytes("pie", d);
  GuestMemory mem(1ull << 38);
  LoadedImage li = load_elf(img, mem, kPieBase);
  EXPECT_EQ(li.load_bias, kPieBase);
  EXPECT_EQ(li.entry, kPieBase + 0x40);
  EXPECT_TRUE(mem.accessible(kPieBase, 0x1000, kRead | kExec));
  EXPECT_TRUE(mem.accessible(kPieBase + 0x11000, 0x3000, kRead | kWrite));
}

TEST(ElfLoader, MissingInterpreterNamesItAndTheSysroot) {
  try {
    find_interpreter("/lib/ld-linux-riscv64-lp64d.so.1", "/nonexistent-sysroot", riscv64_linux());
    FAIL() << "expected ElfError";
  } catch (const ElfError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("needs interpreter /lib/ld-linux-riscv64-lp64d.so.1"), std::string::npos) << m;
    EXPECT_NE(m.find("/nonexistent-sysroot"), std::string::npos) << m;
    EXPECT_NE(m.find("-L"), std::string::npos) << m;
  }
}

TEST(ElfLoader, AcceptsRiscv64AndAarch64ByMachine) {
  EXPECT_EQ(parse_elf_bytes("rv", make_elf(good_segments(), EM_RISCV)).arch, &riscv64_linux());
  ElfImage a64 = parse_elf_bytes("a64", make_elf(good_segments(), EM_AARCH64));
  EXPECT_EQ(a64.arch, &aarch64_linux());
  EXPECT_STREQ(a64.arch->name, "aarch64");
  EXPECT_EQ(a64.entry, 0x10000u);
}

TEST(ElfLoader, MissingAarch64InterpreterSuggestsTheArm64Sysroot) {
  try {
    find_interpreter("/lib/ld-linux-aarch64.so.1", "", aarch64_linux());
    // Found: the cross sysroot (or $QEMU_LD_PREFIX) is installed, which is also right.
  } catch (const ElfError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("/usr/aarch64-linux-gnu"), std::string::npos) << m;
    EXPECT_NE(m.find("libc6-arm64-cross"), std::string::npos) << m;
  }
  const char* prefix = std::getenv("QEMU_LD_PREFIX");
  if ((!prefix || !*prefix) && ::access("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1", R_OK) == 0) {
    EXPECT_EQ(find_interpreter("/lib/ld-linux-aarch64.so.1", "", aarch64_linux()),
              "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1");
  }
}

TEST(ElfLoader, RunProcessReportsBadProgramsAsErrors) {
  Sandbox box(make_elf(good_segments(), EM_386));
  ProcessOptions o;
  o.path = box.prog;
  o.diag_fd = -1;
  EXPECT_THROW(run_process(o), ElfError);
  o.path = box / "missing";
  EXPECT_THROW(run_process(o), UsageError);
}

}  // namespace
}  // namespace vmkit::linux_user
