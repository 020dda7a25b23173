// The table of Linux guest architectures (arch.h).
#include "os/linux/arch.h"

namespace vmkit::linux_user {

namespace {
const LinuxArch* const kArchs[] = {&riscv64_linux(), &aarch64_linux(), &x86_64_linux()};
}

const LinuxArch* linux_arch_for_machine(uint16_t e_machine) {
  for (const LinuxArch* a : kArchs)
    if (a->elf_machine == e_machine) return a;
  return nullptr;
}

std::string supported_arch_names() {
  return std::string(riscv64_linux().name) + ", " + aarch64_linux().name + " or " + x86_64_linux().name;
}
std::string supported_machine_names() { return "EM_RISCV, EM_AARCH64 or EM_X86_64"; }

}  // namespace vmkit::linux_user
