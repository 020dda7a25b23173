// Exceptions the core raises for a user's mistake. The bindings map each to a vmkit Python
// exception of the same name; the message says what is wrong and what to change.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace vmkit {

// "0x1f": how messages show addresses and encodings.
std::string hex(uint64_t v);

struct VmkitError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The program file is not a loadable ELF for this guest (not ELF, wrong class/arch, truncated,
// inconsistent headers), or its interpreter cannot be found.
struct ElfError : VmkitError {
  using VmkitError::VmkitError;
};
// An argument from the user is invalid (bad size, unknown register, overlapping map, ...).
struct UsageError : VmkitError {
  using VmkitError::VmkitError;
};
// System mode: a kernel, initrd, firmware or disk image cannot be used for the configured machine
// (not a kernel, does not fit in memory, missing file ...). Raised before the guest starts.
struct BootError : VmkitError {
  using VmkitError::VmkitError;
};
// Strict mode: the guest called a syscall vmkit does not implement.
struct UnsupportedSyscallError : VmkitError {
  using VmkitError::VmkitError;
};

}  // namespace vmkit
