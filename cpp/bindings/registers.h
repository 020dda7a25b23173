// Register values between Python and the guest state: Python ints of the register's width (up
// to 128 bits for vector registers), shared by the Machine and LinuxProcess bindings.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "core/cpu.h"
#include "core/errors.h"

namespace vmkit::bindings {

inline pybind11::int_ read_register(const Cpu& cpu, const RegInfo& r) {
  uint64_t halves[2] = {0, 0};
  cpu.read_register(r, halves);
  if (r.size() <= 8) return pybind11::int_(halves[0]);
  return pybind11::int_((pybind11::int_(halves[1]) << pybind11::int_(64)) | pybind11::int_(halves[0]));
}

// UsageError (ValueError in Python) if the value does not fit the register; Python floats are
// converted by the caller (machine.py) to their bits first.
inline void write_register(Cpu& cpu, const RegInfo& r, const pybind11::int_& value) {
  const unsigned bits = 8 * r.size();
  pybind11::int_ zero(0);
  if (value < zero || value >= (pybind11::int_(1) << pybind11::int_(bits)))
    throw UsageError("value " + std::string(pybind11::str(value)) + " does not fit the " + std::to_string(bits) +
                     "-bit register '" + r.name + "'");
  const pybind11::int_ mask((pybind11::int_(1) << pybind11::int_(64)) - pybind11::int_(1));
  uint64_t halves[2] = {(value & mask).cast<uint64_t>(), bits > 64 ? (value >> pybind11::int_(64)).cast<uint64_t>() : 0};
  cpu.write_register(r, halves);
}

}  // namespace vmkit::bindings
