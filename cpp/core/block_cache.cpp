#include "core/block_cache.h"

namespace vmkit {

CachedBlock* BlockCache::insert(std::unique_ptr<CachedBlock> b) {
  uint64_t pc = b->ir.pc;
  auto& slot = map_[pc];
  if (slot) {
    slot->valid = false;
    graveyard_.push_back(std::move(slot));
    ++epoch_;
  }
  slot = std::move(b);
  fast_[hash(pc)] = {pc, slot.get()};
  return slot.get();
}

size_t BlockCache::invalidate(uint64_t addr, uint64_t len) {
  uint64_t end = len > ~0ull - addr ? ~0ull : addr + len;
  size_t n = 0;
  for (auto it = map_.begin(); it != map_.end();) {
    const ir::Block& b = it->second->ir;
    if (b.pc < end && b.end_pc > addr) {
      it->second->valid = false;
      graveyard_.push_back(std::move(it->second));
      it = map_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (n) {
    for (auto& f : fast_) f = Fast{};
    ++epoch_;
  }
  return n;
}

}  // namespace vmkit
