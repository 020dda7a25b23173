// An in-process assembler for the guest architectures, built on LLVM's MC layer (the same
// parser, encoder and fixup logic as clang's integrated assembler), so scripts and tests can
// write guest code as text: `vmkit.asm("riscv64", "addi a0, a0, 1", 0x1000)`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"

namespace vmkit {

// The assembly text is invalid: the message holds LLVM's diagnostics ("<asm>:LINE:COL: error:
// ...", with the offending line and a caret), or names the symbols that cannot be resolved.
// A UsageError, because the fix is in the user's input.
struct AssemblyError : UsageError {
  using UsageError::UsageError;
};

// The architectures assemble() accepts, in a stable order ("riscv64", then the others that
// the installed LLVM was built with: "aarch64", "x86_64").
std::vector<std::string> assembler_archs();

// Assembles `text` for `arch` as code that will live at guest address `addr` and returns the
// bytes of its .text section.
//
// riscv64 assembles RV64GC + Zba/Zbb/Zbs with linker relaxation off, so branches, calls and
// `la` to local labels are resolved here and the bytes are final (compressed encodings are
// chosen wherever GNU as would choose them). x86_64 reads Intel syntax (as Capstone prints it),
// or AT&T after an `.att_syntax` line. References the object file still carries after assembling
// (absolute symbols from `.equ`, absolute addresses like x86 `call 0x401000`, `.quad label`,
// `lui/addi` of %hi/%lo(label)) are resolved against `addr`; a reference to an undefined
// symbol, to data outside .text, or one out of range of its instruction throws AssemblyError
// naming the symbol. Only .text is returned: a non-empty other section (.data, .rodata, .bss)
// is an error rather than silently dropped.
//
// Throws UsageError for an unknown arch, AssemblyError for invalid text. Never prints and never
// terminates the process for bad input; safe to call from several threads at once.
std::vector<uint8_t> assemble(const std::string& arch, const std::string& text, uint64_t addr);

}  // namespace vmkit
