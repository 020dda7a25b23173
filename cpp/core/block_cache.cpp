#include "core/block_cache.h"

#include <cstring>

namespace vmkit {

CachedBlock* BlockCache::insert(std::unique_ptr<CachedBlock> b) {
  uint64_t pc = b->ir.pc;
  auto& slot = map_[Key{pc, b->context}];
  if (slot) {
    retire_removed(std::move(slot));
    ++epoch_;
  }
  slot = std::move(b);
  index_pages(slot.get());
  fast_[hash(pc)] = {pc, slot.get()};
  return slot.get();
}

void BlockCache::retire_removed(std::unique_ptr<CachedBlock> b) {
  b->valid = false;
  b->unlink_compiled();
  unindex_pages(b.get());
  graveyard_.push_back(std::move(b));
}

void BlockCache::index_pages(CachedBlock* b) {
  for (uint64_t page : b->physical_pages)
    if (page != CachedBlock::kNoPage) by_page_[page].push_back(b);
}

void BlockCache::unindex_pages(CachedBlock* b) {
  for (uint64_t page : b->physical_pages) {
    if (page == CachedBlock::kNoPage) continue;
    auto it = by_page_.find(page);
    if (it == by_page_.end()) continue;
    auto& v = it->second;
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == b) {
        v[i] = v.back();
        v.pop_back();
        break;
      }
    if (v.empty()) by_page_.erase(it);
  }
}

size_t BlockCache::invalidate(uint64_t addr, uint64_t len) {
  uint64_t end = len > ~0ull - addr ? ~0ull : addr + len;
  size_t n = 0;
  for (auto it = map_.begin(); it != map_.end();) {
    const ir::Block& b = it->second->ir;
    if (b.pc < end && b.end_pc > addr) {
      retire_removed(std::move(it->second));
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

size_t BlockCache::invalidate_physical_page(uint64_t page_paddr) {
  auto it = by_page_.find(page_paddr);
  if (it == by_page_.end()) return 0;
  std::vector<CachedBlock*> blocks = std::move(it->second);
  by_page_.erase(it);
  for (CachedBlock* b : blocks) {
    auto m = map_.find(Key{b->ir.pc, b->context});
    if (m == map_.end() || m->second.get() != b) continue;
    std::unique_ptr<CachedBlock> owned = std::move(m->second);
    map_.erase(m);
    retire_removed(std::move(owned));
    Fast& f = fast_[hash(b->ir.pc)];
    if (f.block == b) f = Fast{};
  }
  ++epoch_;
  return blocks.size();
}

uint64_t BlockCache::total_executions() const {
  uint64_t n = retired_executions_;
  for (const auto& [key, b] : map_) n += b->executions;
  for (const auto& b : graveyard_) n += b->executions;
  return n;
}

// A direct exit is a jmp or jcc with a rel32 operand: pointing it somewhere is one 4-byte write
// (the code cache is writable; each Cpu has its own, used by one thread).
static void point_exit(CachedBlock& from, unsigned k, const void* dest) {
  auto* site = static_cast<uint8_t*>(from.jit) + from.jit_exit_site[k];
  int32_t rel = int32_t(static_cast<const uint8_t*>(dest) - (site + 4));
  std::memcpy(site, &rel, 4);
}

void CachedBlock::link_compiled(unsigned k, CachedBlock& to) {
  if (!jit || !to.jit_body || !jit_exit_site[k] || jit_exit_target[k] == &to) return;
  if (jit_exit_target[k]) return;  // already linked elsewhere (a block at that pc was replaced: it unlinked us)
  point_exit(*this, k, to.jit_body);
  jit_exit_target[k] = &to;
  to.jit_incoming.push_back({this, uint8_t(k)});
}

void CachedBlock::unlink_compiled() {
  for (auto [from, k] : jit_incoming) {
    point_exit(*from, k, static_cast<uint8_t*>(from->jit) + from->jit_exit_stub[k]);
    from->jit_exit_target[k] = nullptr;
  }
  jit_incoming.clear();
  for (unsigned k = 0; k < 2; ++k) {
    CachedBlock* to = jit_exit_target[k];
    if (!to) continue;
    auto& in = to->jit_incoming;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i].first == this && in[i].second == k) {
        in[i] = in.back();
        in.pop_back();
        break;
      }
    point_exit(*this, k, static_cast<uint8_t*>(jit) + jit_exit_stub[k]);
    jit_exit_target[k] = nullptr;
  }
}

}  // namespace vmkit
