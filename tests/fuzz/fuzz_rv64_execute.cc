// libFuzzer target for executing RISC-V code (see fuzz_execute.h).
#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/state.h"
#include "fuzz_execute.h"

namespace {

struct Rv64 {
  static std::unique_ptr<vmkit::Frontend> make_frontend() { return vmkit::rv64::make_frontend(); }
  static constexpr unsigned kSyscallBytes = 4;
  static constexpr unsigned kAlign = 2;
  static constexpr unsigned kPointerRegs[] = {2, 8, 10, 11};  // sp, s0, a0, a1
  // (instret is not compared: the execution loop does not count it yet)
  static constexpr size_t kStateBegin = sizeof(vmkit::GuestCommon);
  static void init(uint8_t* state, const uint64_t* regs) {
    auto& st = *reinterpret_cast<vmkit::rv64::State*>(state);
    for (unsigned i = 1; i < 32; ++i) st.x[i] = regs[i];
    for (unsigned i = 0; i < 32; ++i) st.f[i] = regs[i] ^ 0xfff0000000000000ull;
    st.res_addr = vmkit::rv64::kNoReservation;
    st.res_value = 0;
    st.fflags = 0;
    st.frm = unsigned(regs[0] & 7);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vmkit::fuzz::fuzz_execute<Rv64>(data, size);
}
