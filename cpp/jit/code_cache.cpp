#include "jit/code_cache.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vmkit::jit {

CodeCache::CodeCache(size_t capacity) : capacity_(capacity) {
  void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("cannot map JIT code memory: ") + std::strerror(errno));
  base_ = static_cast<uint8_t*>(p);
}

CodeCache::~CodeCache() { ::munmap(base_, capacity_); }

void* CodeCache::add(const void* code, size_t n) {
  // Cache-line aligned entries: the compiler aligns loop heads within a block's code relative
  // to its start (see BlockCompiler::align_code).
  size_t at = (used_ + kAlign - 1) & ~size_t(kAlign - 1);
  if (at + n > capacity_) return nullptr;
  std::memcpy(base_ + at, code, n);
  used_ = at + n;
  return base_ + at;
}

void CodeCache::flush() {
  used_ = 0;
  ++flushes_;
}

}  // namespace vmkit::jit
