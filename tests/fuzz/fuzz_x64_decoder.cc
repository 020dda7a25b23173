// libFuzzer target for the x86-64 decoder (Zydis) and lifters (see fuzz_decoder.h): every byte
// offset starts an instruction.
#include "frontend/x86_64/frontend.h"
#include "fuzz_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vmkit::fuzz::DecoderFuzz fuzz(vmkit::x64::make_frontend(), 1);
  return fuzz.run(data, size);
}
