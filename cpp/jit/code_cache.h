// Executable memory for translated code: one bounded mapping handed out by a bump allocator.
// When it is full the owner flushes it whole (every translation in it is dropped), which keeps
// the allocator trivial; a collector that evicts only cold code can replace flush() later.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmkit::jit {

class CodeCache {
 public:
  explicit CodeCache(size_t capacity = size_t(64) << 20);
  ~CodeCache();
  CodeCache(const CodeCache&) = delete;
  CodeCache& operator=(const CodeCache&) = delete;

  // Copies n bytes of position-independent code in, at a multiple of kAlign; nullptr when full.
  static constexpr size_t kAlign = 64;
  void* add(const void* code, size_t n);
  void flush();
  bool contains(const void* p) const { return p >= base_ && p < base_ + capacity_; }
  size_t used() const { return used_; }
  size_t capacity() const { return capacity_; }
  uint64_t flushes() const { return flushes_; }

 private:
  uint8_t* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  uint64_t flushes_ = 0;
};

}  // namespace vmkit::jit
