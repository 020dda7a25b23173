// libFuzzer target for executing A64 code (see fuzz_execute.h).
#include "frontend/aarch64/frontend.h"
#include "frontend/aarch64/state.h"
#include "fuzz_execute.h"

namespace {

struct A64 {
  static std::unique_ptr<vmkit::Frontend> make_frontend() { return vmkit::a64::make_frontend(); }
  static constexpr unsigned kSyscallBytes = 4;
  static constexpr unsigned kAlign = 4;
  static constexpr unsigned kPointerRegs[] = {31, 0, 1, 29};  // sp, x0, x1, fp
  static constexpr size_t kStateBegin = sizeof(vmkit::GuestCommon);
  static void init(uint8_t* state, const uint64_t* regs) {
    auto& st = *reinterpret_cast<vmkit::a64::State*>(state);
    for (unsigned i = 0; i < 32; ++i) st.x[i] = regs[i];
    for (unsigned i = 0; i < 32; ++i) {
      st.v[i][0] = regs[32 + i];
      st.v[i][1] = regs[i] ^ regs[32 + i];
    }
    vmkit::a64::set_nzcv(st, uint32_t(regs[33]) & 0xf0000000u);
    st.fpcr = 0;
    st.fpsr = 0;
    st.excl_size = 0;
    st.excl_addr = 0;
    st.excl_value[0] = st.excl_value[1] = 0;
    st.tpidr_el0 = regs[34];
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vmkit::fuzz::fuzz_execute<A64>(data, size);
}
