// libFuzzer target for the A64 decoder and lifters (see fuzz_decoder.h).
#include "frontend/aarch64/frontend.h"
#include "fuzz_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vmkit::fuzz::DecoderFuzz fuzz(vmkit::a64::make_frontend(), 4);
  return fuzz.run(data, size);
}
