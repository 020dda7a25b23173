// libFuzzer target for the RV64 decoder and lifters (see fuzz_decoder.h): instructions are
// 2-byte aligned (compressed ones).
#include "frontend/riscv64/frontend.h"
#include "fuzz_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vmkit::fuzz::DecoderFuzz fuzz(vmkit::rv64::make_frontend(), 2);
  return fuzz.run(data, size);
}
