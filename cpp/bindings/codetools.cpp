// Bindings for the code tools (cpp/codetools/): the assembler. Disassembly is pure Python over
// the capstone package (python/vmkit/codetools.py), so it needs nothing here.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "codetools/assembler.h"

namespace py = pybind11;

// Registers vmkit._core.AssemblyError (a subclass of vmkit._core.UsageError, so it must run
// after UsageError is registered), assemble() and assembler_archs().
void bind_codetools(py::module_& m) {
  py::register_exception<vmkit::AssemblyError>(m, "AssemblyError", m.attr("UsageError").ptr());

  m.def(
      "assemble",
      [](const std::string& arch, const std::string& text, uint64_t addr) {
        std::vector<uint8_t> code;
        {
          // LLVM MC needs no Python objects, and assemble() is thread-safe: let other threads run.
          py::gil_scoped_release unlocked;
          code = vmkit::assemble(arch, text, addr);
        }
        return py::bytes(reinterpret_cast<const char*>(code.data()), code.size());
      },
      py::arg("arch"), py::arg("text"), py::arg("addr"),
      "Assemble `text` for `arch` as code placed at guest address `addr`; returns the .text bytes.");
  m.def("assembler_archs", &vmkit::assembler_archs, "Architectures assemble() accepts with this LLVM.");
}
