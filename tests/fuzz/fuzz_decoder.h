// The decoder fuzz target shared by every guest architecture (fuzz_<arch>_decoder.cc gives the
// frontend and the instruction alignment): any byte string, placed as code at the end of an
// executable page (so blocks also run into the unmapped page after it), must translate from every
// aligned offset tried into IR that the verifier accepts, prints, and survives the optimiser still
// verified. Any crash, sanitizer report or verifier rejection is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "ir/passes.h"
#include "mmu/guest_memory.h"

namespace vmkit::fuzz {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kCodeBase = 0x10000;  // one executable page; the page after it is unmapped

[[noreturn]] inline void fail_block(const char* what, const std::string& err, const ir::Block& b) {
  std::fprintf(stderr, "%s: %s\n%s\n", what, err.c_str(), ir::print(b).c_str());
  std::abort();
}

class DecoderFuzz {
 public:
  DecoderFuzz(std::unique_ptr<Frontend> fe, unsigned align) : fe_(std::move(fe)), align_(align) {
    mem_.map(kCodeBase, kPage, kRead | kExec, "code");
  }

  int run(const uint8_t* data, size_t size) {
    if (size > kPage) size = kPage;
    // Zero-filled page with the input at its end (zero words before it are undefined
    // instructions in both architectures), and a block running past the input hits the unmapped
    // page.
    uint8_t page[kPage] = {};
    std::memcpy(page + kPage - size, data, size);
    mem_.protect(kCodeBase, kPage, kRead | kWrite);
    std::memcpy(mem_.host(kCodeBase), page, kPage);
    mem_.protect(kCodeBase, kPage, kRead | kExec);

    const uint64_t input_start = kCodeBase + kPage - ((size + align_ - 1) / align_ * align_);
    // Every aligned offset of short inputs; for long ones, a spread of offsets plus the tail.
    const uint64_t step = size <= 128 ? align_ : (size / 64) / align_ * align_ + align_;
    for (uint64_t pc = input_start; pc < kCodeBase + kPage; pc += step) check_block(pc);
    check_block(kCodeBase + kPage - align_);
    return 0;
  }

 private:
  void check_block(uint64_t pc) {
    ir::Block b;
    b.pc = b.end_pc = pc;
    b.arch = &fe_->arch();
    ir::Builder builder(b);
    fe_->translate(pc, mem_, builder, 32);
    if (!builder.terminated()) fail_block("block without terminator", "", b);
    std::string err = ir::verify(b);
    if (!err.empty()) fail_block("lifted block rejected", err, b);
    // The printer must handle every op and operand the lifters produce.
    if (ir::print(b).empty()) fail_block("empty print", "", b);
    ir::optimize(b);
    err = ir::verify(b);
    if (!err.empty()) fail_block("optimised block rejected", err, b);
    (void)ir::print(b);
  }

  std::unique_ptr<Frontend> fe_;
  unsigned align_;
  GuestMemory mem_{1ull << 20};
};

}  // namespace vmkit::fuzz
