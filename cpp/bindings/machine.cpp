// Bindings of vmkit::Machine (bare machines). Thin: argument conversion, the buffer protocol for
// zero-copy memory views, and the two ways of calling a hook (a Python callable, or a native C
// function pointer called without the GIL). The Python API around it is python/vmkit/machine.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "bindings/hook_host.h"
#include "bindings/registers.h"
#include "core/machine.h"
#include "ir/passes.h"
#include "mmu/snapshot.h"

namespace py = pybind11;
using vmkit::Machine;

namespace {

// A Machine that also owns the Python objects its hooks call (see HookHost).
struct PyMachine : Machine, vmkit::bindings::HookHost {
  PyMachine(const std::string& arch, uint64_t size) : Machine(arch, size), HookHost(hooks()) {}
  int live_views = 0;  // memory views not yet released
};

// A memory view's exporter: keeps the machine alive and counts as a live view until released,
// so unmap/protect can refuse to pull memory out from under it.
struct MemView {
  PyMachine* m;
  py::object keep;  // the machine
  uint64_t addr, size;
  bool readonly;
  MemView(PyMachine* pm, py::object k, uint64_t a, uint64_t n, bool ro) : m(pm), keep(std::move(k)), addr(a), size(n), readonly(ro) {
    ++m->live_views;
  }
  ~MemView() { --m->live_views; }
};

vmkit::RunResult run(PyMachine& m, uint64_t begin, std::optional<uint64_t> until, uint64_t count, double timeout) {
  vmkit::RunOptions o;
  o.until = until;
  o.count = count;
  o.timeout = timeout;
  return m.run_guest([&] { return m.run(begin, o); });
}

}  // namespace

void bind_machine(py::module_& mod) {
  py::enum_<vmkit::RunEnd>(mod, "RunEnd")
      .value("until", vmkit::RunEnd::Until)
      .value("count", vmkit::RunEnd::Count)
      .value("timeout", vmkit::RunEnd::Timeout)
      .value("stopped", vmkit::RunEnd::Stopped)
      .value("mem_fault", vmkit::RunEnd::MemFault)
      .value("invalid_insn", vmkit::RunEnd::InvalidInsn)
      .value("exception", vmkit::RunEnd::Exception);

  py::class_<vmkit::RunResult>(mod, "RunResult")
      .def_readonly("reason", &vmkit::RunResult::reason)
      .def_readonly("pc", &vmkit::RunResult::pc)
      .def_readonly("insns", &vmkit::RunResult::insns)
      .def_readonly("insn_text", &vmkit::RunResult::insn_text)
      .def_property_readonly("fault_access", [](const vmkit::RunResult& r) { return uint32_t(r.fault.access); })
      .def_property_readonly("fault_unmapped", [](const vmkit::RunResult& r) { return r.fault.unmapped; })
      .def_property_readonly("fault_address", [](const vmkit::RunResult& r) { return r.fault.address; })
      .def_property_readonly("fault_size", [](const vmkit::RunResult& r) { return r.fault.size; })
      .def_property_readonly("fault_value", [](const vmkit::RunResult& r) { return r.fault.value; })
      .def_readonly("cause", &vmkit::RunResult::cause);

  py::class_<MemView>(mod, "_MemView", py::buffer_protocol()).def_buffer([](MemView& v) {
    return py::buffer_info(v.m->memory().host(v.addr), 1, py::format_descriptor<uint8_t>::format(), 1,
                           {py::ssize_t(v.size)}, {py::ssize_t(1)}, v.readonly);
  });

  py::class_<vmkit::MachineSnapshot>(mod, "_Snapshot");

  py::class_<PyMachine> cls(mod, "Machine", vmkit::bindings::gc_visible_hooks<PyMachine>());
  vmkit::bindings::def_hook_methods(cls);
  cls.def(py::init<const std::string&, uint64_t>(), py::arg("arch"), py::arg("address_space"))
      .def_property_readonly("arch", &Machine::arch)
      .def_property_readonly("address_space", [](PyMachine& m) { return m.memory().size(); })
      // registers
      .def("registers", [](PyMachine& m) {
        py::list out;
        for (const auto& r : m.frontend().registers()) out.append(py::make_tuple(r.name, r.kind()));
        return out;
      })
      .def("reg_read", [](PyMachine& m, const std::string& name) { return vmkit::bindings::read_register(m.cpu(), m.reg_info(name)); })
      .def("reg_write", [](PyMachine& m, const std::string& name, py::int_ v) { vmkit::bindings::write_register(m.cpu(), m.reg_info(name), v); })
      .def("save_context", [](PyMachine& m) {
        auto c = m.save_context();
        return py::bytes(reinterpret_cast<const char*>(c.data()), c.size());
      })
      .def("restore_context", [](PyMachine& m, py::bytes b) {
        std::string s = b;
        m.restore_context(std::vector<uint8_t>(s.begin(), s.end()));
      })
      // memory
      .def("mem_map", [](PyMachine& m, uint64_t a, uint64_t n, int perm) { m.mem_map(a, n, perm); })
      .def("mem_unmap", [](PyMachine& m, uint64_t a, uint64_t n) {
        if (m.live_views) throw vmkit::UsageError("cannot unmap while memory views are alive: release them first (view.release() or del)");
        m.mem_unmap(a, n);
      })
      .def("mem_protect", [](PyMachine& m, uint64_t a, uint64_t n, int perm) {
        if (m.live_views) throw vmkit::UsageError("cannot change protections while memory views are alive: release them first (view.release() or del)");
        m.mem_protect(a, n, perm);
      })
      .def("mem_map_host", [](PyMachine& m, uint64_t a, uintptr_t ptr, uint64_t n, int perm) {
        m.memory().map_host(a, reinterpret_cast<void*>(ptr), n, perm);
        m.invalidate(a, n);
      })
      .def("mem_regions", [](PyMachine& m) {
        py::list out;
        for (const auto& [start, r] : m.memory().regions()) out.append(py::make_tuple(start, r.end, r.perm, r.name));
        return out;
      })
      .def("mem_read", [](PyMachine& m, uint64_t a, uint64_t n) {
        std::string buf(n, '\0');
        m.mem_read(a, buf.data(), n);
        return py::bytes(buf);
      })
      .def("mem_write", [](PyMachine& m, uint64_t a, py::buffer data) {
        py::buffer_info info = data.request();  // any buffer: its bytes, C order
        m.mem_write(a, info.ptr, size_t(info.size * info.itemsize));
      })
      .def("mem_view", [](py::object self, uint64_t a, uint64_t n, bool readonly) {
        PyMachine& m = self.cast<PyMachine&>();
        if (!m.memory().accessible(a, n, readonly ? vmkit::kRead : vmkit::kRead | vmkit::kWrite))
          throw vmkit::UsageError("memory view of [" + std::to_string(a) + ", +" + std::to_string(n) +
                                  ") needs every page mapped " + (readonly ? "readable" : "readable and writable") +
                                  ": map it first, or ask for a read-only view");
        return std::make_unique<MemView>(&m, self, a, n, readonly);
      })
      // hooks
      // running
      .def("run", &run, py::arg("begin"), py::arg("until"), py::arg("count"), py::arg("timeout"))
      .def_property_readonly("running", &Machine::running)
      .def("invalidate", &Machine::invalidate)
      .def_property(
          "engine", [](PyMachine& m) { return std::string(vmkit::engine_name(m.cpu().engine)); },
          [](PyMachine& m, const std::string& e) { m.cpu().engine = vmkit::parse_engine(e); })
      .def_property(
          "jit_threshold", [](PyMachine& m) { return m.cpu().jit_threshold; },
          [](PyMachine& m, uint64_t t) {
            m.cpu().jit_threshold = t;
            m.cpu().adaptive_threshold = false;  // the user's number stays
          })
      .def("snapshot", [](PyMachine& m) { return m.snapshot(); })
      .def("restore", [](PyMachine& m, vmkit::MachineSnapshot& s) { return m.restore(s); })
      .def("snapshot_stats", [](PyMachine& m) {
        auto s = m.memory().snapshot_stats();
        py::dict d;
        d["pages_saved"] = s.pages_saved;
        d["fast_restores"] = s.fast_restores;
        d["full_copies"] = s.full_copies;
        d["dirty_pages"] = m.memory().dirty_page_count();
        return d;
      })
      .def("translate", [](PyMachine& m, uint64_t pc, bool optimize) {
        vmkit::ir::Block b = m.translate(pc);
        if (optimize) vmkit::ir::optimize(b);
        py::list ops;
        for (const auto& in : b.insts) {
          const auto& info = vmkit::ir::op_info(in.op);
          py::list srcs;
          const vmkit::ir::Slot s3[3] = {in.a, in.b, in.c};
          for (unsigned k = 0; k < info.nsrc; ++k)
            if (s3[k] != vmkit::ir::kNoSlot) srcs.append(s3[k]);
          ops.append(py::make_tuple(info.name, vmkit::ir::type_name(in.type),
                                    info.has_dst ? py::object(py::int_(in.dst)) : py::none(), srcs, in.aux, in.sub));
        }
        py::list marks;
        for (const auto& mk : b.marks) marks.append(py::make_tuple(mk.pc, mk.length, mk.first_inst));
        py::list consts;
        for (size_t i = 0; i < b.num_slots(); ++i)
          consts.append(b.slot_is_const[i] ? py::object(py::int_(b.slot_init[i])) : py::none());
        py::dict d;
        d["pc"] = b.pc;
        d["end"] = b.end_pc;
        d["text"] = vmkit::ir::print(b);
        d["ops"] = ops;
        d["marks"] = marks;
        d["consts"] = consts;
        return d;
      }, py::arg("pc"), py::arg("optimize") = true)
      .def("stats", [](PyMachine& m) {
        const auto& s = m.cpu().stats();
        py::dict d;
        d["blocks_translated"] = s.blocks_translated;
        d["blocks_executed"] = m.cpu().blocks_executed();
        d["insns_executed"] = s.insns_executed;
        d["invalidations"] = s.invalidations;
        d["code_write_faults"] = s.code_write_faults;
        d["blocks_compiled"] = s.blocks_compiled;
        d["jit_declined"] = s.jit_declined;
        d["code_cache_flushes"] = s.code_cache_flushes;
        d["compile_seconds"] = s.compile_seconds;
        d["flush_pause_max_seconds"] = s.flush_pause_max_seconds;
        d["blocks_evicted"] = s.blocks_evicted;
        return d;
      })
      .def("block_stats", [](PyMachine& m) {
        py::list out;
        for (const auto& b : m.cpu().block_stats()) {
          py::dict d;
          d["pc"] = b.pc;
          d["end"] = b.end_pc;
          d["insns"] = b.guest_insns;
          d["executions"] = b.executions;
          d["tier"] = b.compiled ? "jit" : "interp";
          d["compile_ns"] = b.compile_ns;
          out.append(d);
        }
        return out;
      })
      .def_property(
          "jit_cache_bytes", [](PyMachine& m) { return m.cpu().jit_cache_bytes; },
          [](PyMachine& m, size_t n) {
            if (n < 4096) throw vmkit::UsageError("jit_cache_bytes must be at least 4096");
            m.cpu().jit_cache_bytes = n;
          });
}
