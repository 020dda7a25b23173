// libFuzzer target for executing x86-64 code (see fuzz_execute.h).
#include "frontend/x86_64/frontend.h"
#include "frontend/x86_64/state.h"
#include "fuzz_execute.h"

namespace {

struct X64 {
  static std::unique_ptr<vmkit::Frontend> make_frontend() { return vmkit::x64::make_frontend(); }
  static constexpr unsigned kSyscallBytes = 2;
  static constexpr unsigned kAlign = 1;
  static constexpr unsigned kPointerRegs[] = {vmkit::x64::RSP, vmkit::x64::RSI, vmkit::x64::RDI, vmkit::x64::RBX};
  static constexpr size_t kStateBegin = sizeof(vmkit::GuestCommon);
  static void init(uint8_t* state, const uint64_t* regs) {
    auto& st = *reinterpret_cast<vmkit::x64::State*>(state);
    for (unsigned i = 0; i < 16; ++i) st.r[i] = regs[i];
    for (unsigned i = 0; i < 16; ++i) {
      st.xmm[i][0] = regs[16 + i];
      st.xmm[i][1] = regs[i] ^ regs[16 + i];
    }
    vmkit::x64::set_rflags(st, regs[33]);
    st.mxcsr = 0x1f80;
    st.fs_base = st.gs_base = 0;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vmkit::fuzz::fuzz_execute<X64>(data, size);
}
