#include "frontend/registry.h"

#include "core/errors.h"
#include "frontend/aarch64/frontend.h"
#include "frontend/riscv64/frontend.h"
#include "frontend/x86_64/frontend.h"

namespace vmkit {

const std::vector<std::string>& guest_archs() {
  static const std::vector<std::string> archs = {"riscv64", "aarch64", "x86_64"};
  return archs;
}

std::unique_ptr<Frontend> make_frontend(const std::string& arch) {
  if (arch == "riscv64") return rv64::make_frontend();
  if (arch == "aarch64") return a64::make_frontend();
  if (arch == "x86_64") return x64::make_frontend();
  std::string known;
  for (const auto& a : guest_archs()) known += (known.empty() ? "'" : ", '") + a + "'";
  throw UsageError("unknown guest architecture '" + arch + "': vmkit supports " + known);
}

}  // namespace vmkit
