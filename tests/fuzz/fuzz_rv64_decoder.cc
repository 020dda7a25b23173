// libFuzzer target for the RV64 decoder and lifters: any byte string, placed as code at the end of
// an executable page (so blocks also run into the unmapped page after it), must translate from
// every 2-byte offset tried into IR that the verifier accepts, prints, and survives the optimiser
// still verified. Any crash, sanitizer report or verifier rejection is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "frontend/riscv64/frontend.h"
#include "ir/ir.h"
#include "ir/passes.h"
#include "mmu/guest_memory.h"

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kCodeBase = 0x10000;  // one executable page; the page after it is unmapped

struct Harness {
  std::unique_ptr<vmkit::Frontend> fe = vmkit::rv64::make_frontend();
  vmkit::GuestMemory mem{1ull << 20};
  Harness() { mem.map(kCodeBase, kPage, vmkit::kRead | vmkit::kExec, "code"); }
};

Harness& harness() {
  static Harness h;
  return h;
}

[[noreturn]] void fail(const char* what, const std::string& err, const vmkit::ir::Block& b) {
  std::fprintf(stderr, "%s: %s\n%s\n", what, err.c_str(), vmkit::ir::print(b).c_str());
  std::abort();
}

void check_block(Harness& h, uint64_t pc) {
  vmkit::ir::Block b;
  b.pc = b.end_pc = pc;
  b.arch = &h.fe->arch();
  vmkit::ir::Builder builder(b);
  h.fe->translate(pc, h.mem, builder, 32);
  if (!builder.terminated()) fail("block without terminator", "", b);
  std::string err = vmkit::ir::verify(b);
  if (!err.empty()) fail("lifted block rejected", err, b);
  // The printer must handle every op and operand the lifters produce.
  if (vmkit::ir::print(b).empty()) fail("empty print", "", b);
  vmkit::ir::optimize(b);
  err = vmkit::ir::verify(b);
  if (!err.empty()) fail("optimised block rejected", err, b);
  (void)vmkit::ir::print(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness& h = harness();
  if (size > kPage) size = kPage;
  // Zero-filled page with the input at its end: 0x0000 halfwords before it are illegal
  // instructions, and a block running past the input hits the unmapped page.
  uint8_t page[kPage] = {};
  std::memcpy(page + kPage - size, data, size);
  h.mem.protect(kCodeBase, kPage, vmkit::kRead | vmkit::kWrite);
  std::memcpy(h.mem.host(kCodeBase), page, kPage);
  h.mem.protect(kCodeBase, kPage, vmkit::kRead | vmkit::kExec);

  const uint64_t input_start = kCodeBase + kPage - ((size + 1) & ~size_t(1));
  // Every 2-byte offset of short inputs; for long ones, a spread of offsets plus the tail.
  const uint64_t step = size <= 128 ? 2 : ((size / 64) & ~uint64_t(1)) + 2;
  for (uint64_t pc = input_start; pc < kCodeBase + kPage; pc += step) check_block(h, pc);
  check_block(h, kCodeBase + kPage - 2);
  return 0;
}
