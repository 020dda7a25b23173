// Bindings of Linux user mode: a guest program run to completion (vmkit.linux.Process / run), with
// the same hooks as bare machines plus syscall hooks. Registers and memory of the process are
// reachable while it runs (from hooks).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings/hook_host.h"
#include "bindings/registers.h"
#include "core/errors.h"
#include "core/cpu.h"
#include "core/hooks.h"
#include "frontend/registry.h"
#include "os/linux/process.h"

namespace py = pybind11;
namespace lu = vmkit::linux_user;

namespace {

struct HookSetHolder {
  vmkit::HookSet hooks;
};

// The guest architecture of a program: its ELF's (or its #! interpreter's). A file vmkit cannot
// run gets the first architecture's registers; running it reports what is wrong with it.
std::string arch_of(const std::string& path, const std::string& sysroot) {
  std::string arch = lu::program_arch(path, sysroot);
  return arch.empty() ? vmkit::guest_archs().front() : arch;
}

struct PyProcess : HookSetHolder, vmkit::bindings::HookHost {
  PyProcess(const std::string& path, const std::string& sysroot)
      : HookHost(hooks), arch(arch_of(path, sysroot)), frontend(vmkit::make_frontend(arch)) {}
  std::string arch;
  std::unique_ptr<vmkit::Frontend> frontend;  // for register names before the process runs

  vmkit::Cpu& cpu() {
    vmkit::Cpu* c = hooks.cpu();
    if (!c) throw vmkit::UsageError("the process is not running: its registers and memory are reachable from hooks while it runs");
    return *c;
  }
};

}  // namespace

void bind_linux(py::module_& mod) {
  py::class_<lu::ProcessResult>(mod, "ProcessResult")
      .def_readonly("exit_status", &lu::ProcessResult::exit_status)
      .def_readonly("signal", &lu::ProcessResult::signal)
      .def_readonly("insns", &lu::ProcessResult::insns)
      .def_readonly("diagnostics", &lu::ProcessResult::diagnostics)
      .def_readonly("stopped", &lu::ProcessResult::stopped);

  py::class_<PyProcess> cls(mod, "LinuxProcess", vmkit::bindings::gc_visible_hooks<PyProcess>());
  vmkit::bindings::def_hook_methods(cls);
  cls.def(py::init<const std::string&, const std::string&>(), py::arg("path"), py::arg("sysroot") = "")
      .def_property_readonly("arch", [](PyProcess& p) { return p.arch; })
      .def("registers", [](PyProcess& p) {
        py::list out;
        for (const auto& r : p.frontend->registers()) out.append(py::make_tuple(r.name, r.kind()));
        return out;
      })
      .def("reg_read", [](PyProcess& p, const std::string& name) {
        vmkit::Cpu& c = p.cpu();
        return vmkit::bindings::read_register(c, c.register_named(name));
      })
      .def("reg_write", [](PyProcess& p, const std::string& name, py::int_ v) {
        vmkit::Cpu& c = p.cpu();
        vmkit::bindings::write_register(c, c.register_named(name), v);
      })
      .def("mem_read", [](PyProcess& p, uint64_t a, uint64_t n) {
        std::string buf(n, '\0');
        p.cpu().memory().debug_read(a, buf.data(), n);
        return py::bytes(buf);
      })
      .def("mem_write", [](PyProcess& p, uint64_t a, py::buffer data) {
        py::buffer_info info = data.request();
        vmkit::Cpu& c = p.cpu();
        size_t n = size_t(info.size * info.itemsize);
        c.memory().debug_write(a, info.ptr, n);
        if (n) c.invalidate(a, n);
      })
      .def("mem_regions", [](PyProcess& p) {
        py::list out;
        for (const auto& [start, r] : p.cpu().memory().regions()) out.append(py::make_tuple(start, r.end, r.perm, r.name));
        return out;
      })
      .def("run",
           [](PyProcess& p, const std::string& path, const std::vector<std::string>& argv,
              const std::vector<std::string>& env, const std::string& sysroot, int stdin_fd, int stdout_fd,
              int stderr_fd, bool strict, int diag_fd, bool strace, double timeout, const std::string& engine) {
             vmkit::parse_engine(engine);  // a bad name fails here, before the program starts
             if (p.hooks.cpu()) throw vmkit::UsageError("the process is already running");
             lu::ProcessOptions o;
             o.path = path;
             o.argv = argv;
             o.env = env;
             o.sysroot = sysroot;
             o.stdin_fd = stdin_fd;
             o.stdout_fd = stdout_fd;
             o.stderr_fd = stderr_fd;
             o.strict = strict;
             o.strace = strace;
             o.diag_fd = diag_fd;
             o.hooks = &p.hooks;
             o.engine = engine;
             p.hooks.begin_run(timeout);
             lu::ProcessResult r = p.run_guest([&] { return lu::run_process(o); });
             if (p.hooks.failed()) std::rethrow_exception(p.hooks.take_error());
             return r;
           },
           py::arg("path"), py::arg("argv"), py::arg("env"), py::arg("sysroot"), py::arg("stdin_fd"),
           py::arg("stdout_fd"), py::arg("stderr_fd"), py::arg("strict"), py::arg("diag_fd"), py::arg("strace"),
           py::arg("timeout"), py::arg("engine"));
}
