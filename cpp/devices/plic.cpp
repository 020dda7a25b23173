// SiFive PLIC, following qemu 7.2's sifive_plic.c with the virt board's parameters.
#include "devices/plic.h"

#include <bit>
#include <string>

#include "core/errors.h"

namespace vmkit::devices {

namespace {
// The mip bit each context drives (hart-config "MS": M mode first, then S mode).
constexpr unsigned kContextBit[Plic::kContexts] = {mip::kMeip, mip::kSeip};
// Bytes of the pending array qemu decodes: (sources + 31) / 8, so three words for 96 sources.
constexpr uint64_t kPendingBytes = (Plic::kSources + 31) / 8;
}  // namespace

Plic::Plic(HartLines& hart) : hart_(hart) {
  for (unsigned n = 0; n < kSources; ++n) {
    lines_[n].plic = this;
    lines_[n].number = n;
  }
  reset();
}

IrqLine& Plic::source(unsigned n) {
  if (n == 0 || n >= kSources)
    throw UsageError("Plic::source: source " + std::to_string(n) + " does not exist "
                     "(the PLIC has sources 1.." + std::to_string(kSources - 1) + ")");
  return lines_[n];
}

void Plic::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  priority_.fill(0);
  claimed_.fill(0);
  for (Bits& e : enable_) e.fill(0);
  threshold_.fill(0);
  pending_ = level_;
  update_lines();
}

bool Plic::pending(unsigned n) const {
  std::lock_guard<std::mutex> lock(mu_);
  return n < kSources && test(pending_, n);
}

bool Plic::claimed(unsigned n) const {
  std::lock_guard<std::mutex> lock(mu_);
  return n < kSources && test(claimed_, n);
}

void Plic::set_source_level(unsigned n, bool high) {
  std::lock_guard<std::mutex> lock(mu_);
  assign(level_, n, high);
  // qemu drops pending when the line falls (the request is withdrawn); while claimed the source
  // stays out of pending, and complete re-samples the line.
  assign(pending_, n, high && !test(claimed_, n));
  update_lines();
}

unsigned Plic::best_source(unsigned context) const {
  unsigned best = 0;
  uint32_t best_priority = threshold_[context];
  for (unsigned w = 0; w < kWords; ++w) {
    uint32_t candidates = pending_[w] & ~claimed_[w] & enable_[context][w];
    while (candidates != 0) {
      const unsigned bit = static_cast<unsigned>(std::countr_zero(candidates));
      candidates &= candidates - 1;
      const unsigned n = w * 32 + bit;
      // Strictly greater: ties keep the lower id, found first.
      if (n != 0 && priority_[n] > best_priority) {
        best = n;
        best_priority = priority_[n];
      }
    }
  }
  return best;
}

void Plic::update_lines() {
  for (unsigned c = 0; c < kContexts; ++c) hart_.set(kContextBit[c], best_source(c) != 0);
}

bool Plic::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (size != 4 || (offset & 3) != 0 || offset >= kSize) return false;
  std::lock_guard<std::mutex> lock(mu_);
  value = read_register(offset);
  return true;
}

bool Plic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || (offset & 3) != 0 || offset >= kSize) return false;
  std::lock_guard<std::mutex> lock(mu_);
  write_register(offset, static_cast<uint32_t>(value));
  return true;
}

uint32_t Plic::read_register(uint64_t offset) {
  if (offset - kPriorityBase < kSources * 4) return priority_[(offset - kPriorityBase) / 4];
  if (offset - kPendingBase < kPendingBytes) return pending_[(offset - kPendingBase) / 4];
  if (offset - kEnableBase < kContexts * kEnableStride) {
    const uint64_t context = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    return word < kWords ? enable_[context][word] : 0;
  }
  if (offset - kContextBase < kContexts * kContextStride) {
    const unsigned context = static_cast<unsigned>((offset - kContextBase) / kContextStride);
    const uint64_t reg = (offset - kContextBase) % kContextStride;
    if (reg == 0) return threshold_[context];
    if (reg == 4) {
      // Claim: the source leaves pending and becomes claimed until the guest completes it.
      const unsigned n = best_source(context);
      if (n != 0) {
        assign(pending_, n, false);
        assign(claimed_, n, true);
      }
      update_lines();
      return n;
    }
  }
  return 0;
}

void Plic::write_register(uint64_t offset, uint32_t value) {
  if (offset - kPriorityBase < kSources * 4) {
    // kMaxPriority + 1 is a power of two, so qemu makes the field WARL by dropping the high bits.
    priority_[(offset - kPriorityBase) / 4] = value % (kMaxPriority + 1);
    update_lines();
    return;
  }
  if (offset - kPendingBase < kPendingBytes) return;  // read only
  if (offset - kEnableBase < kContexts * kEnableStride) {
    const uint64_t context = (offset - kEnableBase) / kEnableStride;
    const uint64_t word = (offset - kEnableBase) % kEnableStride / 4;
    if (word < kWords) {
      enable_[context][word] = value;
      update_lines();
    }
    return;
  }
  if (offset - kContextBase < kContexts * kContextStride) {
    const unsigned context = static_cast<unsigned>((offset - kContextBase) / kContextStride);
    const uint64_t reg = (offset - kContextBase) % kContextStride;
    if (reg == 0) {
      threshold_[context] = value % (kMaxPriority + 1);
      update_lines();
    } else if (reg == 4 && value < kSources) {
      // Complete. Like qemu, any in-range id is accepted, enabled for this context or not. A level
      // source whose line is still high is requested again (the gateway re-samples it).
      assign(claimed_, value, false);
      if (test(level_, value)) assign(pending_, value, true);
      update_lines();
    }
  }
}

}  // namespace vmkit::devices
