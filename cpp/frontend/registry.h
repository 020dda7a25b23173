// The guest architectures vmkit has frontends for, by name ("riscv64", ...).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frontend/frontend.h"

namespace vmkit {

const std::vector<std::string>& guest_archs();
// Throws UsageError naming the supported architectures for an unknown name.
std::unique_ptr<Frontend> make_frontend(const std::string& arch);

}  // namespace vmkit
