// Bindings of system mode's RISC-V virt board (devices::RiscvVirtMachine). Thin: argument
// conversion and releasing the GIL while the guest runs; the Python API (Machine(mode="system"),
// the console's expect/send) is python/vmkit/system.py.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "bindings/registers.h"
#include "core/errors.h"
#include "devices/riscv_boot.h"
#include "devices/riscv_virt.h"

namespace py = pybind11;
using vmkit::devices::RiscvVirtMachine;

namespace {

vmkit::rv64::Priv parse_priv(const std::string& p) {
  if (p == "M" || p == "machine") return vmkit::rv64::Priv::Machine;
  if (p == "S" || p == "supervisor") return vmkit::rv64::Priv::Supervisor;
  if (p == "U" || p == "user") return vmkit::rv64::Priv::User;
  throw vmkit::UsageError("privilege level '" + p + "': use 'M', 'S' or 'U'");
}

const char* priv_name(vmkit::rv64::Priv p) {
  switch (p) {
    case vmkit::rv64::Priv::Machine: return "M";
    case vmkit::rv64::Priv::Supervisor: return "S";
    case vmkit::rv64::Priv::User: return "U";
  }
  return "?";
}

py::dict tlb_table_stats(const vmkit::TlbStats& s) {
  py::dict d;
  d["lookups"] = s.lookups;
  d["hits"] = s.hits;
  d["misses"] = s.misses;
  d["fills"] = s.fills;
  d["evictions"] = s.evictions;
  d["flushes_all"] = s.flushes_all;
  d["flushes_asid"] = s.flushes_asid;
  d["flushes_page"] = s.flushes_page;
  d["flushes_page_asid"] = s.flushes_page_asid;
  d["entries_flushed"] = s.entries_flushed;
  return d;
}

}  // namespace

void bind_system(py::module_& mod) {
  py::class_<RiscvVirtMachine>(mod, "SystemMachine")
      .def(py::init([](const std::string& arch, const std::string& memory, const std::string& clock,
                       const std::string& mmu, const std::string& engine, uint64_t insns_per_tick) {
             if (arch != "riscv64")
               throw vmkit::UsageError("system mode emulates riscv64 machines (the virt board); got arch '" + arch + "'");
             vmkit::devices::RiscvVirtConfig c;
             c.memory = vmkit::devices::parse_memory_size(memory);
             if (clock == "host") c.clock = vmkit::devices::RiscvVirtConfig::Clock::Host;
             else if (clock == "virtual") c.clock = vmkit::devices::RiscvVirtConfig::Clock::Virtual;
             else throw vmkit::UsageError("clock '" + clock + "': use 'host' or 'virtual'");
             if (mmu == "sv48") c.mmu = vmkit::rv64::SatpMode::Sv48;
             else if (mmu == "sv39") c.mmu = vmkit::rv64::SatpMode::Sv39;
             else throw vmkit::UsageError("mmu '" + mmu + "': use 'sv39' or 'sv48'");
             c.engine = vmkit::parse_engine(engine);
             c.insns_per_tick = insns_per_tick;
             return std::make_unique<RiscvVirtMachine>(c);
           }),
           py::arg("arch"), py::arg("memory"), py::arg("clock"), py::arg("mmu"), py::arg("engine"),
           py::arg("insns_per_tick"))
      .def("reset", [](RiscvVirtMachine& m, uint64_t pc, const std::string& priv) { m.reset(pc, parse_priv(priv)); })
      .def("load_kernel", &RiscvVirtMachine::load_kernel)
      .def("add_disk", &RiscvVirtMachine::add_disk)
      .def("add_virtio_console", &RiscvVirtMachine::add_virtio_console)
      .def("virtio_console_input", [](RiscvVirtMachine& m, py::bytes data) { m.virtio_console_input(std::string(data)); })
      .def("add_virtio_net",
           [](RiscvVirtMachine& m, py::bytes mac, bool responder) {
             std::string b = mac;
             if (b.size() != 6) throw vmkit::UsageError("a MAC address is 6 bytes");
             vmkit::devices::MacAddress a;
             std::copy(b.begin(), b.end(), a.begin());
             m.add_virtio_net(a, responder);
           })
      .def("take_net_frames",
           [](RiscvVirtMachine& m) {
             py::list out;
             for (const auto& f : m.take_net_frames())
               out.append(py::bytes(reinterpret_cast<const char*>(f.data()), f.size()));
             return out;
           })
      .def("net_receive",
           [](RiscvVirtMachine& m, py::bytes frame) {
             std::string f = frame;
             m.net_receive(reinterpret_cast<const uint8_t*>(f.data()), f.size());
           })
      .def("net_stats",
           [](RiscvVirtMachine& m) {
             py::dict d;
             if (!m.virtio_net()) return d;
             const auto s = m.virtio_net()->stats();
             d["tx_frames"] = s.tx_frames;
             d["tx_bytes"] = s.tx_bytes;
             d["rx_frames"] = s.rx_frames;
             d["rx_bytes"] = s.rx_bytes;
             d["tx_dropped"] = s.tx_dropped;
             d["rx_dropped_overflow"] = s.rx_dropped_overflow;
             d["rx_dropped_too_big"] = s.rx_dropped_too_big;
             d["rx_dropped_malformed"] = s.rx_dropped_malformed;
             return d;
           })
      .def("virtio_errors",
           [](RiscvVirtMachine& m) {
             py::list out;
             for (size_t i = 0; i < m.virtio_count(); ++i) out.append(m.virtio(i).error());
             return out;
           })
      .def("run",
           [](RiscvVirtMachine& m, uint64_t max_insns, double timeout) {
             vmkit::devices::SystemRunEnd e;
             {
               py::gil_scoped_release release;
               e = m.run(max_insns, timeout);
             }
             return std::string(vmkit::devices::system_run_end_name(e));
           })
      .def("stop", &RiscvVirtMachine::stop)
      .def("wait_for_output", &RiscvVirtMachine::wait_for_output)
      .def("console_match_end", &RiscvVirtMachine::console_match_end)
      .def("console_output", [](const RiscvVirtMachine& m, size_t from) {
        std::string s = m.console_output();
        return py::bytes(from < s.size() ? s.substr(from) : std::string());
      })
      .def("console_size", &RiscvVirtMachine::console_size)
      .def("console_input", [](RiscvVirtMachine& m, py::bytes data) { m.console_input(std::string(data)); })
      .def("ram_read",
           [](RiscvVirtMachine& m, uint64_t pa, size_t n) {
             std::string out(n, '\0');
             m.ram().read(pa, out.data(), n);
             return py::bytes(out);
           })
      .def("ram_write",
           [](RiscvVirtMachine& m, uint64_t pa, py::buffer data) {
             py::buffer_info info = data.request();
             m.ram().write(pa, info.ptr, size_t(info.size * info.itemsize));
           })
      .def_property_readonly("ram_base", [](RiscvVirtMachine& m) { return m.ram().ram_base(); })
      .def_property_readonly("ram_size", [](RiscvVirtMachine& m) { return m.ram().ram_size(); })
      .def("registers",
           [](RiscvVirtMachine& m) {
             py::list out;
             for (const auto& r : m.cpu().frontend().registers()) out.append(py::make_tuple(r.name, r.kind()));
             return out;
           })
      .def("reg_read",
           [](RiscvVirtMachine& m, const std::string& name) {
             return vmkit::bindings::read_register(m.cpu(), m.cpu().register_named(name));
           })
      .def("reg_write",
           [](RiscvVirtMachine& m, const std::string& name, const py::int_& v) {
             vmkit::bindings::write_register(m.cpu(), m.cpu().register_named(name), v);
           })
      .def("csr_read",
           [](RiscvVirtMachine& m, uint32_t csr) {
             uint64_t v;
             if (!m.hart().debug_csr_read(csr, v))
               throw vmkit::UsageError("CSR " + vmkit::hex(csr) + " does not exist on this hart");
             return v;
           })
      .def_property_readonly("priv", [](RiscvVirtMachine& m) { return priv_name(m.hart().priv()); })
      .def_property_readonly("power_state", [](RiscvVirtMachine& m) { return std::string(m.power_state()); })
      .def_property_readonly("mtime", &RiscvVirtMachine::mtime)
      .def("dtb", [](RiscvVirtMachine& m) { return py::bytes(reinterpret_cast<const char*>(m.dtb().data()), m.dtb().size()); })
      .def("tlb_stats",
           [](RiscvVirtMachine& m) {
             const vmkit::SoftMmuStats& s = m.hart().mmu().stats;
             py::dict fast;
             fast["hits"] = s.hits;
             fast["misses"] = s.misses;
             fast["fills"] = s.fills;
             fast["faults"] = s.faults;
             fast["flushes"] = s.flushes;
             fast["page_flushes"] = s.page_flushes;
             fast["fetch_hits"] = s.fetch_hits;
             fast["fetch_misses"] = s.fetch_misses;
             py::dict d;
             d["fast"] = fast;
             d["itlb"] = tlb_table_stats(m.hart().tlb().stats(vmkit::TlbKind::Instruction));
             d["dtlb"] = tlb_table_stats(m.hart().tlb().stats(vmkit::TlbKind::Data));
             return d;
           })
      .def("stats", [](RiscvVirtMachine& m) {
        const vmkit::CpuStats& c = m.cpu().stats();
        const vmkit::SoftMmuStats& s = m.hart().mmu().stats;
        py::dict d;
        d["insns_executed"] = c.insns_executed;
        d["blocks_translated"] = c.blocks_translated;
        d["invalidations"] = c.invalidations;
        d["code_write_faults"] = c.code_write_faults;
        d["device_reads"] = s.device_reads;
        d["device_writes"] = s.device_writes;
        d["code_writes"] = s.code_writes;
        d["idle_sleeps"] = m.idle_sleeps();
        return d;
      });
}
