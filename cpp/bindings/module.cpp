// The pybind11 module vmkit._core: thin wrappers only. Python-facing conveniences (argument
// defaults, capture of output, the CLI) live in python/vmkit/.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>

#include "core/cpu.h"
#include "core/errors.h"
#include "frontend/registry.h"
#include "ir/passes.h"
#include "mmu/guest_memory.h"

namespace py = pybind11;

void bind_machine(py::module_& m);
void bind_linux(py::module_& m);
void bind_system(py::module_& m);

namespace {

// Lifts the code in `code` (placed at guest address `addr`) block by block and returns the IR
// text of the first block, so notebooks and tests can look at what the frontend produces.
py::dict lift(const std::string& arch, py::bytes code, uint64_t addr, bool optimize) {
  auto fe = vmkit::make_frontend(arch);
  std::string bytes = code;
  if (bytes.empty()) throw vmkit::UsageError("lift: code is empty; pass the instruction bytes to translate");
  uint64_t page = vmkit::page_down(addr);
  uint64_t len = vmkit::page_up(addr + bytes.size()) - page;
  vmkit::GuestMemory mem(vmkit::page_up(addr + bytes.size()) + vmkit::GuestMemory::kPageSize);
  mem.map(page, len, vmkit::kRead | vmkit::kWrite);
  std::memcpy(mem.host(addr), bytes.data(), bytes.size());
  mem.protect(page, len, vmkit::kRead | vmkit::kExec);
  vmkit::Cpu cpu(*fe, mem);
  vmkit::ir::Block b = cpu.translate(addr);
  if (optimize) vmkit::ir::optimize(b);
  py::dict d;
  d["text"] = vmkit::ir::print(b);
  d["verify"] = vmkit::ir::verify(b);
  d["guest_insns"] = b.marks.size();
  d["ops"] = b.insts.size();
  d["end"] = b.end_pc;
  return d;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "vmkit's C++ core (internal: use the vmkit package)";

  auto base = py::register_exception<vmkit::VmkitError>(m, "VmkitError", PyExc_RuntimeError);
  py::register_exception<vmkit::ElfError>(m, "ElfError", base.ptr());
  py::register_exception<vmkit::UsageError>(m, "UsageError", base.ptr());
  py::register_exception<vmkit::BootError>(m, "BootError", base.ptr());
  py::register_exception<vmkit::UnsupportedSyscallError>(m, "UnsupportedSyscallError", base.ptr());
  // Host-side access (Machine.mem.read/write) to guest memory that is not mapped for it.
  py::register_exception<vmkit::GuestAccessError>(m, "MemoryAccessError", base.ptr());

  bind_machine(m);
  m.def("guest_archs", &vmkit::guest_archs);
  m.def("lift", &lift, py::arg("arch"), py::arg("code"), py::arg("addr"), py::arg("optimize"));

  bind_linux(m);
  bind_system(m);
}
