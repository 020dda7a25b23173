// vmkit::assemble: LLVM MC parses and encodes the text into an in-memory ELF relocatable object;
// we then take .text out of it and apply the relocations that remain, for the load address the
// caller gave. Going through a real object file (rather than poking at MCAssembler internals)
// keeps us on LLVM's stable, tested path: the same one `clang -c foo.s` takes.
#include "codetools/assembler.h"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/Triple.h>
#include <llvm/BinaryFormat/ELF.h>
#include <llvm/MC/MCAsmBackend.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCCodeEmitter.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCObjectFileInfo.h>
#include <llvm/MC/MCObjectWriter.h>
#include <llvm/MC/MCParser/MCAsmParser.h>
#include <llvm/MC/MCParser/MCTargetAsmParser.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCStreamer.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/MCTargetOptions.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

namespace vmkit {
namespace {

// ELF structures and constants (EM_*, SHT_*, R_RISCV_*, ...) come from LLVM's ELF.h, the
// definitions its object writer uses.
using namespace llvm::ELF;

struct ArchConfig {
  const char* name;     // vmkit's name
  const char* triple;   // LLVM target triple
  const char* cpu;
  const char* features;  // -mattr string; only names this LLVM knows (unknown ones print warnings)
  const char* abi;       // MCTargetOptions::ABIName (sets ELF flags only; bytes do not depend on it)
  uint16_t elf_machine;
};

// -relax: without it LLVM resolves PC-relative fixups between local labels itself, so the bytes
// are final and match `as -mno-relax`/GNU as for code without linker relaxation.
constexpr ArchConfig kArchs[] = {
    {"riscv64", "riscv64-unknown-linux-gnu", "generic-rv64", "+m,+a,+f,+d,+c,+zba,+zbb,+zbs,-relax", "lp64d",
     EM_RISCV},
    {"aarch64", "aarch64-unknown-linux-gnu", "generic",
     "+v8.2a,+neon,+fp-armv8,+crc,+crypto,+lse,+rcpc,+fullfp16,+dotprod", "", EM_AARCH64},
    {"x86_64", "x86_64-unknown-linux-gnu", "x86-64", "", "", EM_X86_64},
};

// ---------------------------------------------------------------------------------------------
// LLVM's fatal error path. A few MC code paths call report_fatal_error instead of reporting a
// diagnostic; by default that prints and exits the process, which must never happen to a Python
// session because of a typo. We install one process-wide handler that turns the error into an
// AssemblyError while this thread is inside assemble(), and otherwise behaves like LLVM's default
// (print, then LLVM exits), so other LLVM users in the process (the future tier-2 JIT) see no
// change. Unwinding passes through LLVM frames built without exceptions: their locals are not
// destroyed, so after a fatal error the assembler deliberately leaks its LLVM objects instead of
// destroying possibly half-updated state (see Session::fatal).
thread_local bool t_in_assembler = false;

[[noreturn]] void throw_fatal(const char* reason) {
  throw AssemblyError(std::string("LLVM could not assemble the input: ") + reason);
}

void fatal_error_handler(void*, const char* reason, bool) {
  if (t_in_assembler) throw_fatal(reason);
  llvm::errs() << "LLVM ERROR: " << reason << "\n";
}

void bad_alloc_handler(void*, const char* reason, bool) {
  if (t_in_assembler) throw_fatal(reason);
  // LLVM's contract for this handler: do not return; std::bad_alloc is what it expects.
  throw std::bad_alloc();
}

void initialize_llvm_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // All targets the installed LLVM has: a few milliseconds once, and assembler_archs() can then
    // ask the registry which of ours exist instead of hard-coding how Debian built LLVM.
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmParsers();
    llvm::install_fatal_error_handler(fatal_error_handler, nullptr);
    llvm::install_bad_alloc_error_handler(bad_alloc_handler, nullptr);
  });
}

const llvm::Target* lookup_target(const ArchConfig& a) {
  std::string err;
  return llvm::TargetRegistry::lookupTarget(a.triple, err);
}

// Collects every diagnostic (errors and warnings) as the text LLVM would have printed.
struct Diagnostics {
  std::string text;
  bool error = false;

  void add(const llvm::SMDiagnostic& d) {
    if (d.getKind() == llvm::SourceMgr::DK_Error) error = true;
    llvm::raw_string_ostream os(text);
    d.print(nullptr, os, /*ShowColors=*/false);
  }
  static void source_mgr_handler(const llvm::SMDiagnostic& d, void* self) { static_cast<Diagnostics*>(self)->add(d); }
};

// ---------------------------------------------------------------------------------------------
// Running LLVM MC: text in, ELF relocatable object out.

std::string assemble_to_elf(const ArchConfig& arch, const llvm::Target& target, const std::string& text) {
  struct InAssembler {
    InAssembler() { t_in_assembler = true; }
    ~InAssembler() { t_in_assembler = false; }
  } scope;

  // All LLVM objects live in unique_ptrs so a fatal error can release (leak) them: see above.
  llvm::MCTargetOptions options;
  options.ABIName = arch.abi;
  auto mri = std::unique_ptr<llvm::MCRegisterInfo>(target.createMCRegInfo(arch.triple));
  auto mai = std::unique_ptr<llvm::MCAsmInfo>(target.createMCAsmInfo(*mri, arch.triple, options));
  auto mii = std::unique_ptr<llvm::MCInstrInfo>(target.createMCInstrInfo());
  auto sti = std::unique_ptr<llvm::MCSubtargetInfo>(target.createMCSubtargetInfo(arch.triple, arch.cpu, arch.features));
  if (!mri || !mai || !mii || !sti) throw VmkitError(std::string("LLVM has no MC support for ") + arch.triple);

  Diagnostics diags;
  auto source = std::make_unique<llvm::SourceMgr>();
  // A trailing newline so the last line is always complete (the parser wants one).
  source->AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text + "\n", "<asm>"), llvm::SMLoc());
  source->setDiagHandler(&Diagnostics::source_mgr_handler, &diags);

  llvm::Triple triple(arch.triple);
  auto ctx = std::make_unique<llvm::MCContext>(triple, mai.get(), mri.get(), sti.get(), source.get(), &options);
  ctx->setDiagnosticHandler(
      [&diags](const llvm::SMDiagnostic& d, bool, const llvm::SourceMgr&, std::vector<const llvm::MDNode*>&) {
        diags.add(d);
      });
  auto mofi = std::unique_ptr<llvm::MCObjectFileInfo>(target.createMCObjectFileInfo(*ctx, /*PIC=*/false));
  ctx->setObjectFileInfo(mofi.get());

  llvm::SmallVector<char, 0> object;
  auto os = std::make_unique<llvm::raw_svector_ostream>(object);
  std::unique_ptr<llvm::MCCodeEmitter> emitter(target.createMCCodeEmitter(*mii, *mri, *ctx));
  std::unique_ptr<llvm::MCAsmBackend> backend(target.createMCAsmBackend(*sti, *mri, options));
  if (!emitter || !backend) throw VmkitError(std::string("LLVM cannot encode for ") + arch.triple);
  std::unique_ptr<llvm::MCObjectWriter> writer = backend->createObjectWriter(*os);
  std::unique_ptr<llvm::MCStreamer> streamer(target.createMCObjectStreamer(
      triple, *ctx, std::move(backend), std::move(writer), std::move(emitter), *sti, /*RelaxAll=*/false,
      /*IncrementalLinkerCompatible=*/false, /*DWARFMustBeAtTheEnd=*/false));
  std::unique_ptr<llvm::MCAsmParser> parser(llvm::createMCAsmParser(*source, *ctx, *streamer, *mai));
  std::unique_ptr<llvm::MCTargetAsmParser> target_parser(target.createMCAsmParser(*sti, *parser, *mii, options));
  if (!target_parser) throw VmkitError(std::string("LLVM has no assembly parser for ") + arch.triple);
  parser->setTargetParser(*target_parser);
  // x86: Intel syntax by default, like Capstone's output (so disasm text assembles back) and
  // Keystone; `.att_syntax` in the text switches to AT&T.
  if (arch.elf_machine == EM_X86_64) parser->setAssemblerDialect(1);

  bool failed;
  try {
    failed = parser->Run(/*NoInitialTextSection=*/false);
  } catch (...) {
    // A fatal error unwound through LLVM mid-operation: leak rather than destroy inconsistent
    // objects. A rare path (LLVM reports almost everything as a diagnostic), so the leak is bounded.
    (void)target_parser.release();
    (void)parser.release();
    (void)streamer.release();
    (void)mofi.release();
    (void)ctx.release();
    (void)source.release();
    (void)os.release();
    (void)sti.release();
    (void)mii.release();
    (void)mai.release();
    (void)mri.release();
    throw;
  }
  if (failed || diags.error || ctx->hadError()) {
    if (diags.text.empty()) diags.text = "LLVM rejected the input without a diagnostic\n";
    while (!diags.text.empty() && diags.text.back() == '\n') diags.text.pop_back();
    throw AssemblyError(std::string("cannot assemble ") + arch.name + " code:\n" + diags.text);
  }
  return std::string(object.data(), object.size());
}

// ---------------------------------------------------------------------------------------------
// Reading the object LLVM wrote. It is our own output, but every offset is still checked so a
// surprise (an LLVM version writing something unexpected) is an error, not a wild read.

struct ElfView {
  const std::string& data;

  template <typename T>
  T at(uint64_t off) const {
    if (off > data.size() || data.size() - off < sizeof(T)) throw VmkitError("assembler: truncated ELF object from LLVM");
    T v;
    std::memcpy(&v, data.data() + off, sizeof(T));
    return v;
  }
  const Elf64_Ehdr header() const { return at<Elf64_Ehdr>(0); }
  Elf64_Shdr section(unsigned i) const {
    auto h = header();
    if (i >= h.e_shnum) throw VmkitError("assembler: bad section index in ELF object");
    return at<Elf64_Shdr>(h.e_shoff + uint64_t{i} * h.e_shentsize);
  }
  std::string_view str(unsigned strtab_index, uint32_t off) const {
    auto s = section(strtab_index);
    if (off >= s.sh_size || s.sh_offset + s.sh_size > data.size()) throw VmkitError("assembler: bad string in ELF object");
    const char* p = data.data() + s.sh_offset + off;
    return std::string_view(p, strnlen(p, s.sh_size - off));
  }
  std::string_view section_name(unsigned i) const { return str(header().e_shstrndx, section(i).sh_name); }
};

struct Relocation {
  uint64_t offset;  // in .text
  uint32_t type;
  int64_t addend;
  uint32_t symbol;  // index into .symtab; 0 = none (an absolute address)
};

// The resolved value of a relocation's symbol, or the error that says why it has none.
struct SymbolValue {
  std::string name;  // for messages: the symbol, or "absolute address"
  std::optional<uint64_t> value;
  std::string why_not;
};

class Linker {
 public:
  Linker(const ArchConfig& arch, const std::string& object, uint64_t base) : arch_(arch), elf_{object}, base_(base) {}

  std::vector<uint8_t> link() {
    auto h = elf_.header();
    if (std::memcmp(h.e_ident, ElfMagic, 4) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_machine != arch_.elf_machine)
      throw VmkitError("assembler: LLVM did not produce the expected ELF64 object");
    std::vector<std::string> stray;  // allocatable sections with content other than .text
    for (unsigned i = 1; i < h.e_shnum; ++i) {
      auto s = elf_.section(i);
      std::string_view name = elf_.section_name(i);
      if (name == ".text") text_index_ = i;
      else if (s.sh_type == SHT_SYMTAB) symtab_index_ = i;
      // .eh_frame only appears for .cfi_* directives: unwind tables, not code, never part of it.
      else if ((s.sh_flags & SHF_ALLOC) && s.sh_size != 0 && name != ".eh_frame") stray.emplace_back(name);
    }
    if (!stray.empty()) {
      std::string list;
      for (auto& n : stray) list += (list.empty() ? "" : ", ") + n;
      throw AssemblyError("the code puts bytes in section(s) " + list +
                          ": vmkit.asm returns only .text, so place data in .text (e.g. after the code)");
    }
    if (!text_index_) return {};  // e.g. only directives: no code at all
    auto text = elf_.section(*text_index_);
    if (text.sh_offset + text.sh_size > elf_.data.size()) throw VmkitError("assembler: bad .text in ELF object");
    code_.assign(elf_.data.begin() + text.sh_offset, elf_.data.begin() + text.sh_offset + text.sh_size);

    std::vector<Relocation> relocs;
    for (unsigned i = 1; i < h.e_shnum; ++i) {
      auto s = elf_.section(i);
      if (s.sh_type == SHT_REL) throw VmkitError("assembler: unexpected REL relocations in ELF object");
      if (s.sh_type != SHT_RELA || s.sh_info != *text_index_) continue;
      for (uint64_t off = 0; off + sizeof(Elf64_Rela) <= s.sh_size; off += sizeof(Elf64_Rela)) {
        auto r = elf_.at<Elf64_Rela>(s.sh_offset + off);
        relocs.push_back({r.r_offset, r.getType(), r.r_addend,
                          r.getSymbol()});
      }
    }
    // Undefined symbols are reported all at once: the user fixes them in one go.
    std::vector<std::string> undefined;
    for (auto& r : relocs) {
      auto sym = symbol(r.symbol);
      if (!sym.value && sym.why_not == "undefined") {
        bool seen = false;
        for (auto& u : undefined) seen |= u == sym.name;
        if (!seen) undefined.push_back(sym.name);
      }
    }
    if (!undefined.empty()) {
      std::string list;
      for (auto& n : undefined) list += (list.empty() ? "'" : ", '") + n + "'";
      throw AssemblyError(std::string("undefined symbol") + (undefined.size() > 1 ? "s " : " ") + list +
                          ": define it as a label in the code or with `.equ name, address`");
    }
    for (auto& r : relocs) apply(r, relocs);
    return std::move(code_);
  }

 private:
  SymbolValue symbol(uint32_t index) const {
    if (index == 0) return {"absolute address", 0, ""};
    if (!symtab_index_) throw VmkitError("assembler: relocation without a symbol table");
    auto symtab = elf_.section(*symtab_index_);
    auto sym = elf_.at<Elf64_Sym>(symtab.sh_offset + uint64_t{index} * sizeof(Elf64_Sym));
    std::string name(elf_.str(symtab.sh_link, sym.st_name));
    if (sym.getType() == STT_SECTION && sym.st_shndx < elf_.header().e_shnum)
      name = std::string(elf_.section_name(sym.st_shndx));
    if (sym.st_shndx == SHN_UNDEF) return {name, std::nullopt, "undefined"};
    if (sym.st_shndx == SHN_ABS) return {name, sym.st_value, ""};
    if (text_index_ && sym.st_shndx == *text_index_) return {name, base_ + sym.st_value, ""};
    return {name, std::nullopt, "not in .text"};
  }

  uint64_t value_of(const Relocation& r, std::string* name = nullptr) const {
    auto sym = symbol(r.symbol);
    if (name) *name = sym.name;
    if (!sym.value) throw AssemblyError("symbol '" + sym.name + "' is " + sym.why_not + ": it cannot be referenced");
    return *sym.value + static_cast<uint64_t>(r.addend);
  }

  template <typename T>
  T read(uint64_t off) const {
    if (off > code_.size() || code_.size() - off < sizeof(T)) throw VmkitError("assembler: relocation outside .text");
    T v;
    std::memcpy(&v, code_.data() + off, sizeof(T));
    return v;
  }
  template <typename T>
  void write(uint64_t off, T v) {
    (void)read<T>(off);  // bounds check
    std::memcpy(code_.data() + off, &v, sizeof(T));
  }

  [[noreturn]] void out_of_range(const Relocation& r, int64_t value, const char* what) const {
    std::string name;
    try {
      (void)value_of(r, &name);
    } catch (const AssemblyError&) {
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s at 0x%llx to '%s' is out of range (value %lld)", what,
                  static_cast<unsigned long long>(base_ + r.offset), name.c_str(), static_cast<long long>(value));
    throw AssemblyError(buf);
  }
  // value must be a multiple of `align` and fit in a signed `bits`-bit field.
  void check_signed(const Relocation& r, int64_t v, int bits, int64_t align, const char* what) const {
    int64_t lim = int64_t{1} << (bits - 1);
    if (v < -lim || v >= lim || v % align != 0) out_of_range(r, v, what);
  }

  void apply(const Relocation& r, const std::vector<Relocation>& all) {
    switch (arch_.elf_machine) {
      case EM_RISCV: return apply_riscv(r, all);
      case EM_AARCH64: return apply_aarch64(r);
      case EM_X86_64: return apply_x86_64(r);
    }
  }

  [[noreturn]] void unsupported(const Relocation& r) const {
    std::string name;
    try {
      (void)value_of(r, &name);
    } catch (const AssemblyError&) {
    }
    throw AssemblyError(std::string(arch_.name) + " relocation type " + std::to_string(r.type) + " against '" + name +
                        "' cannot be resolved by vmkit.asm");
  }

  // RISC-V immediates, scattered as the instruction formats scatter them (ISA manual, ch. 2).
  static uint32_t rv_btype(uint32_t insn, uint64_t imm) {
    return (insn & 0x01FFF07F) | uint32_t((imm >> 12) & 1) << 31 | uint32_t((imm >> 5) & 0x3F) << 25 |
           uint32_t((imm >> 1) & 0xF) << 8 | uint32_t((imm >> 11) & 1) << 7;
  }
  static uint32_t rv_jtype(uint32_t insn, uint64_t imm) {
    return (insn & 0xFFF) | uint32_t((imm >> 20) & 1) << 31 | uint32_t((imm >> 1) & 0x3FF) << 21 |
           uint32_t((imm >> 11) & 1) << 20 | uint32_t((imm >> 12) & 0xFF) << 12;
  }
  static uint32_t rv_utype(uint32_t insn, uint64_t hi20) { return (insn & 0xFFF) | uint32_t(hi20 << 12); }
  static uint32_t rv_itype(uint32_t insn, uint64_t lo12) { return (insn & 0xFFFFF) | uint32_t(lo12 & 0xFFF) << 20; }
  static uint32_t rv_stype(uint32_t insn, uint64_t lo12) {
    return (insn & 0x01FFF07F) | uint32_t((lo12 >> 5) & 0x7F) << 25 | uint32_t(lo12 & 0x1F) << 7;
  }
  // A 32-bit value as auipc/lui's upper 20 bits plus a sign-extended low 12 (the +0x800 rounds
  // so that the signed low part brings it back).
  static uint64_t rv_hi20(int64_t v) { return (static_cast<uint64_t>(v) + 0x800) >> 12 & 0xFFFFF; }
  static uint64_t rv_lo12(int64_t v) { return static_cast<uint64_t>(v) & 0xFFF; }

  void apply_riscv(const Relocation& r, const std::vector<Relocation>& all) {
    uint64_t p = base_ + r.offset;
    switch (r.type) {
      case R_RISCV_32: {
        uint64_t v = value_of(r);
        if (v > 0xFFFFFFFFu && static_cast<int64_t>(v) < INT32_MIN) out_of_range(r, static_cast<int64_t>(v), "32-bit data");
        return write<uint32_t>(r.offset, static_cast<uint32_t>(v));
      }
      case R_RISCV_64: return write<uint64_t>(r.offset, value_of(r));
      case R_RISCV_BRANCH: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 13, 2, "branch");
        return write<uint32_t>(r.offset, rv_btype(read<uint32_t>(r.offset), d));
      }
      case R_RISCV_JAL: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 21, 2, "jal");
        return write<uint32_t>(r.offset, rv_jtype(read<uint32_t>(r.offset), d));
      }
      case R_RISCV_CALL:
      case R_RISCV_CALL_PLT: {  // auipc ra, hi; jalr ra, lo(ra)
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d + 0x800, 32, 1, "call");
        write<uint32_t>(r.offset, rv_utype(read<uint32_t>(r.offset), rv_hi20(d)));
        return write<uint32_t>(r.offset + 4, rv_itype(read<uint32_t>(r.offset + 4), rv_lo12(d)));
      }
      case R_RISCV_PCREL_HI20: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d + 0x800, 32, 1, "auipc");
        return write<uint32_t>(r.offset, rv_utype(read<uint32_t>(r.offset), rv_hi20(d)));
      }
      case R_RISCV_PCREL_LO12_I:
      case R_RISCV_PCREL_LO12_S: {
        // The symbol is the label on the auipc; the offset is the one that auipc's own
        // PCREL_HI20 relocation computes, relative to the auipc's address.
        uint64_t hi_at = value_of(r) - base_;
        const Relocation* hi = nullptr;
        for (auto& o : all)
          if (o.offset == hi_at && o.type == R_RISCV_PCREL_HI20) hi = &o;
        if (!hi) unsupported(r);
        int64_t d = static_cast<int64_t>(value_of(*hi) - (base_ + hi->offset));
        uint32_t insn = read<uint32_t>(r.offset);
        return write<uint32_t>(r.offset, r.type == R_RISCV_PCREL_LO12_I ? rv_itype(insn, rv_lo12(d)) : rv_stype(insn, rv_lo12(d)));
      }
      case R_RISCV_HI20: {
        int64_t v = static_cast<int64_t>(value_of(r));
        check_signed(r, v + 0x800, 32, 1, "%hi");
        return write<uint32_t>(r.offset, rv_utype(read<uint32_t>(r.offset), rv_hi20(v)));
      }
      case R_RISCV_LO12_I: return write<uint32_t>(r.offset, rv_itype(read<uint32_t>(r.offset), rv_lo12(value_of(r))));
      case R_RISCV_LO12_S: return write<uint32_t>(r.offset, rv_stype(read<uint32_t>(r.offset), rv_lo12(value_of(r))));
      case R_RISCV_RVC_BRANCH: {  // c.beqz/c.bnez: offset[8|4:3] in 12:10, [7:6|2:1|5] in 6:2
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 9, 2, "compressed branch");
        uint64_t u = static_cast<uint64_t>(d);
        uint16_t insn = (read<uint16_t>(r.offset) & 0xE383) | ((u >> 8) & 1) << 12 | ((u >> 3) & 3) << 10 |
                        ((u >> 6) & 3) << 5 | ((u >> 1) & 3) << 3 | ((u >> 5) & 1) << 2;
        return write<uint16_t>(r.offset, insn);
      }
      case R_RISCV_RVC_JUMP: {  // c.j: offset[11|4|9:8|10|6|7|3:1|5] in 12:2
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 12, 2, "compressed jump");
        uint64_t u = static_cast<uint64_t>(d);
        uint16_t insn = (read<uint16_t>(r.offset) & 0xE003) | ((u >> 11) & 1) << 12 | ((u >> 4) & 1) << 11 |
                        ((u >> 8) & 3) << 9 | ((u >> 10) & 1) << 8 | ((u >> 6) & 1) << 7 | ((u >> 7) & 1) << 6 |
                        ((u >> 1) & 7) << 3 | ((u >> 5) & 1) << 2;
        return write<uint16_t>(r.offset, insn);
      }
      default: unsupported(r);
    }
  }

  void apply_aarch64(const Relocation& r) {
    uint64_t p = base_ + r.offset;
    auto patch = [&](uint32_t mask, uint32_t bits) { write<uint32_t>(r.offset, (read<uint32_t>(r.offset) & ~mask) | (bits & mask)); };
    switch (r.type) {
      case R_AARCH64_ABS64: return write<uint64_t>(r.offset, value_of(r));
      case R_AARCH64_ABS32: {
        uint64_t v = value_of(r);
        if (v > 0xFFFFFFFFu && static_cast<int64_t>(v) < INT32_MIN) out_of_range(r, static_cast<int64_t>(v), "32-bit data");
        return write<uint32_t>(r.offset, static_cast<uint32_t>(v));
      }
      case R_AARCH64_PREL64: return write<uint64_t>(r.offset, value_of(r) - p);
      case R_AARCH64_PREL32: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 32, 1, "32-bit PC-relative data");
        return write<uint32_t>(r.offset, static_cast<uint32_t>(d));
      }
      case R_AARCH64_JUMP26:
      case R_AARCH64_CALL26: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 28, 4, "b/bl");
        return patch(0x03FFFFFF, static_cast<uint32_t>(d >> 2));
      }
      case R_AARCH64_CONDBR19: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 21, 4, "conditional branch");
        return patch(0x00FFFFE0, static_cast<uint32_t>(d >> 2) << 5);
      }
      case R_AARCH64_TSTBR14: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 16, 4, "tbz/tbnz");
        return patch(0x0007FFE0, static_cast<uint32_t>(d >> 2) << 5);
      }
      case R_AARCH64_ADR_PREL_LO21: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 21, 1, "adr");
        return patch(0x60FFFFE0, static_cast<uint32_t>(d & 3) << 29 | static_cast<uint32_t>((d >> 2) & 0x7FFFF) << 5);
      }
      case R_AARCH64_ADR_PREL_PG_HI21: {
        int64_t d = static_cast<int64_t>((value_of(r) & ~uint64_t{0xFFF}) - (p & ~uint64_t{0xFFF}));
        check_signed(r, d, 33, 4096, "adrp");
        int64_t pages = d >> 12;
        return patch(0x60FFFFE0, static_cast<uint32_t>(pages & 3) << 29 | static_cast<uint32_t>((pages >> 2) & 0x7FFFF) << 5);
      }
      // The low 12 bits of an address into an add/ldr/str immediate, scaled by the access size.
      case R_AARCH64_ADD_ABS_LO12_NC: return patch(0x003FFC00, static_cast<uint32_t>(value_of(r) & 0xFFF) << 10);
      case R_AARCH64_LDST8_ABS_LO12_NC: return patch(0x003FFC00, static_cast<uint32_t>(value_of(r) & 0xFFF) << 10);
      case R_AARCH64_LDST16_ABS_LO12_NC: return patch(0x003FFC00, static_cast<uint32_t>((value_of(r) & 0xFFF) >> 1) << 10);
      case R_AARCH64_LDST32_ABS_LO12_NC: return patch(0x003FFC00, static_cast<uint32_t>((value_of(r) & 0xFFF) >> 2) << 10);
      case R_AARCH64_LDST64_ABS_LO12_NC: return patch(0x003FFC00, static_cast<uint32_t>((value_of(r) & 0xFFF) >> 3) << 10);
      case R_AARCH64_LDST128_ABS_LO12_NC: return patch(0x003FFC00, static_cast<uint32_t>((value_of(r) & 0xFFF) >> 4) << 10);
      default: unsupported(r);
    }
  }

  void apply_x86_64(const Relocation& r) {
    uint64_t p = base_ + r.offset;
    switch (r.type) {
      case R_X86_64_64: return write<uint64_t>(r.offset, value_of(r));
      case R_X86_64_PC64: return write<uint64_t>(r.offset, value_of(r) - p);
      case R_X86_64_PC32:
      case R_X86_64_PLT32: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 32, 1, "rel32");
        return write<uint32_t>(r.offset, static_cast<uint32_t>(d));
      }
      case R_X86_64_32: {
        uint64_t v = value_of(r);
        if (v > 0xFFFFFFFFu) out_of_range(r, static_cast<int64_t>(v), "32-bit zero-extended immediate");
        return write<uint32_t>(r.offset, static_cast<uint32_t>(v));
      }
      case R_X86_64_32S: {
        int64_t v = static_cast<int64_t>(value_of(r));
        check_signed(r, v, 32, 1, "32-bit sign-extended immediate");
        return write<uint32_t>(r.offset, static_cast<uint32_t>(v));
      }
      case R_X86_64_PC8: {
        int64_t d = static_cast<int64_t>(value_of(r) - p);
        check_signed(r, d, 8, 1, "rel8");
        return write<uint8_t>(r.offset, static_cast<uint8_t>(d));
      }
      default: unsupported(r);
    }
  }

  const ArchConfig& arch_;
  ElfView elf_;
  uint64_t base_;
  std::optional<unsigned> text_index_;
  std::optional<unsigned> symtab_index_;
  std::vector<uint8_t> code_;
};

const ArchConfig* find_arch(const std::string& name) {
  for (auto& a : kArchs)
    if (name == a.name) return &a;
  return nullptr;
}

}  // namespace

std::vector<std::string> assembler_archs() {
  initialize_llvm_once();
  std::vector<std::string> out;
  for (auto& a : kArchs)
    if (lookup_target(a)) out.emplace_back(a.name);
  return out;
}

std::vector<uint8_t> assemble(const std::string& arch, const std::string& text, uint64_t addr) {
  initialize_llvm_once();
  const ArchConfig* config = find_arch(arch);
  const llvm::Target* target = config ? lookup_target(*config) : nullptr;
  if (!target) {
    std::string list;
    for (auto& a : assembler_archs()) list += (list.empty() ? "'" : ", '") + a + "'";
    throw UsageError("cannot assemble for unknown architecture '" + arch + "': choose one of " + list);
  }
  std::string object = assemble_to_elf(*config, *target, text);
  return Linker(*config, object, addr).link();
}

}  // namespace vmkit
