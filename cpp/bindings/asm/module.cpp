// The pybind11 module vmkit._asm: the assembler (cpp/codetools/), apart from vmkit._core because
// it is the one part of vmkit that links libLLVM-14, whose loading and relocation would otherwise
// slow down every `import vmkit`. python/vmkit/codetools.py imports it on the first asm() call.
// Disassembly is pure Python over the capstone package, so it needs nothing here.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "codetools/assembler.h"
#include "core/errors.h"

namespace py = pybind11;

namespace {

// The Python classes the assembler's C++ exceptions become. They are defined elsewhere
// (AssemblyError in Python, in vmkit.codetools, so that it exists before LLVM is loaded; the others
// by vmkit._core) and looked up once, when this module is imported.
struct ErrorClasses {
  py::object assembly_error;
  py::object usage_error;
  py::object vmkit_error;
};

PYBIND11_CONSTINIT py::gil_safe_call_once_and_store<ErrorClasses> error_classes;

}  // namespace

PYBIND11_MODULE(_asm, m) {
  m.doc() = "vmkit's assembler on LLVM MC (internal: use vmkit.asm)";

  const ErrorClasses& errors = error_classes
                                   .call_once_and_store_result([] {
                                     py::module_ core = py::module_::import("vmkit._core");
                                     return ErrorClasses{
                                         py::module_::import("vmkit.codetools").attr("AssemblyError"),
                                         core.attr("UsageError"),
                                         core.attr("VmkitError"),
                                     };
                                   })
                                   .get_stored();
  m.attr("AssemblyError") = errors.assembly_error;

  // Local to this module: _core's translators cannot catch these (pybind11 modules are built with
  // hidden visibility, so vmkit::UsageError here is not _core's type), and a global translator
  // catching vmkit::VmkitError would also run for _core's functions and turn its ElfError into a
  // plain VmkitError. Most derived first.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const vmkit::AssemblyError& e) {
      py::set_error(error_classes.get_stored().assembly_error, e.what());
    } catch (const vmkit::UsageError& e) {
      py::set_error(error_classes.get_stored().usage_error, e.what());
    } catch (const vmkit::VmkitError& e) {
      py::set_error(error_classes.get_stored().vmkit_error, e.what());
    }
  });

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
