#include "ir/passes.h"

#include <numeric>
#include <unordered_map>

namespace vmkit::ir {

namespace {

// Folds a binary op over two constants; returns false for ops not folded here (the interpreter
// remains the one definition of the rest).
bool fold_binary(Op op, Type t, uint64_t a, uint64_t b, uint64_t& out) {
  unsigned w = type_bits(t);
  uint64_t m = type_mask(t);
  switch (op) {
    case Op::add: out = (a + b) & m; return true;
    case Op::sub: out = (a - b) & m; return true;
    case Op::and_: out = a & b; return true;
    case Op::or_: out = a | b; return true;
    case Op::xor_: out = a ^ b; return true;
    case Op::shl: out = (a << (b % w)) & m; return true;
    case Op::lshr: out = a >> (b % w); return true;
    default: return false;
  }
}

// Applies zext/sext/trunc to a constant.
uint64_t fold_convert(Op op, Type to, Type from, uint64_t v) {
  if (op == Op::sext) {
    unsigned w = type_bits(from);
    if (w < 64) v = uint64_t(int64_t(v << (64 - w)) >> (64 - w));
  }
  return v & type_mask(to);
}

// Key of a pure instruction for common-subexpression elimination: two pure instructions with the
// same key compute the same value.
struct PureKey {
  Op op;
  Type type;
  uint8_t sub;
  Slot a, b, c;
  uint32_t aux;
  bool operator==(const PureKey&) const = default;
};
struct PureKeyHash {
  size_t operator()(const PureKey& k) const {
    uint64_t h = (uint64_t(k.op) << 56) ^ (uint64_t(k.type) << 48) ^ (uint64_t(k.sub) << 40) ^
                 (uint64_t(k.a) << 24) ^ (uint64_t(k.b) << 8) ^ k.c ^ (uint64_t(k.aux) << 20);
    return size_t(h * 0x9e3779b97f4a7c15ull >> 16);
  }
};

bool is_identity_with_zero_rhs(Op op) {
  return op == Op::add || op == Op::sub || op == Op::or_ || op == Op::xor_ || op == Op::shl ||
         op == Op::lshr || op == Op::ashr;
}

}  // namespace

PassStats optimize(Block& b) {
  PassStats st;
  Builder bld(b);
  const size_t n_in = b.insts.size();
  std::vector<Slot> repl(b.num_slots());
  std::iota(repl.begin(), repl.end(), Slot(0));
  auto R = [&](Slot s) { return s == kNoSlot ? s : repl[s]; };
  auto grow = [&] {
    while (repl.size() < b.num_slots()) repl.push_back(Slot(repl.size()));
  };

  std::unordered_map<uint32_t, Slot> known;         // state offset -> slot with its value
  std::unordered_map<uint32_t, size_t> unobserved;  // state offset -> index of a put not yet observable
  std::unordered_map<PureKey, Slot, PureKeyHash> pure;  // CSE of side-effect-free ops
  // The widening convert (zext/sext) that defined a slot, so trunc(ext(x)) can become x.
  std::unordered_map<Slot, Slot> extended_from;
  // Slots defined as (base + constant), so adds of constants reassociate: (x + c1) + c2 becomes
  // x + (c1 + c2), and (x + c) + y becomes (x + y) + c, which lets address arithmetic such as
  // ((x + 1024) + sp) - 1024 (RISC-V code reaching a stack array) fold to x + sp.
  std::unordered_map<Slot, std::pair<Slot, uint64_t>> base_plus_const;
  std::vector<Inst> out;
  std::vector<bool> dead;
  std::vector<uint32_t> new_index(n_in + 1);
  out.reserve(n_in);

  auto forget_overlapping = [&](uint32_t off, unsigned bytes) {
    for (auto it = known.begin(); it != known.end();) {
      unsigned kb = type_bits(b.slot_types[it->second]) / 8;
      if (it->first < off + bytes && off < it->first + kb && !(it->first == off && kb == bytes)) it = known.erase(it);
      else ++it;
    }
  };

  for (size_t idx = 0; idx < n_in; ++idx) {
    new_index[idx] = uint32_t(out.size());
    Inst in = b.insts[idx];
    in.a = R(in.a);
    in.b = R(in.b);
    in.c = R(in.c);
    const OpInfo& info = op_info(in.op);

    if (in.op == Op::get) {
      auto it = known.find(in.aux);
      if (it != known.end() && b.slot_types[it->second] == in.type) {
        repl[in.dst] = it->second;
        ++st.gets_forwarded;
        continue;
      }
      known[in.aux] = in.dst;
    } else if (in.op == Op::put) {
      unsigned bytes = type_bits(in.type) / 8;
      auto prev = unobserved.find(in.aux);
      if (prev != unobserved.end() && out[prev->second].type == in.type) {
        dead[prev->second] = true;
        ++st.puts_removed;
      }
      forget_overlapping(in.aux, bytes);
      known[in.aux] = in.a;
      unobserved[in.aux] = out.size();
    } else if (info.flags & (OpFlag::Mem | OpFlag::Trap | OpFlag::Term) || in.op == Op::fence) {
      // The guest state may be observed here (a fault or a helper reads it).
      unobserved.clear();
      if (info.flags & OpFlag::State) known.clear();  // helpers and hooks may write guest state
    } else if (info.shape == Shape::Convert) {
      Type from = b.slot_types[in.a];
      if (b.slot_is_const[in.a]) {
        Slot k = bld.konst(in.type, fold_convert(in.op, in.type, from, b.slot_init[in.a]));
        grow();
        repl[in.dst] = k;
        ++st.folded;
        continue;
      }
      if (in.op == Op::trunc) {
        auto ext = extended_from.find(in.a);
        if (ext != extended_from.end() && b.slot_types[ext->second] == in.type) {
          repl[in.dst] = ext->second;  // trunc(ext(x)) where x already has the target type
          ++st.folded;
          continue;
        }
      } else {
        extended_from[in.dst] = in.a;
      }
    } else if (info.has_dst && info.nsrc == 2 &&
               (info.shape == Shape::Same || info.shape == Shape::Shift)) {
      bool ca = b.slot_is_const[in.a], cb = b.slot_is_const[in.b];
      uint64_t v;
      if (ca && cb && in.type == b.slot_types[in.a] && fold_binary(in.op, in.type, b.slot_init[in.a], b.slot_init[in.b], v)) {
        Slot k = bld.konst(in.type, v);
        grow();
        repl[in.dst] = k;
        ++st.folded;
        continue;
      }
      if (cb && b.slot_init[in.b] == 0 && is_identity_with_zero_rhs(in.op)) {
        repl[in.dst] = in.a;
        ++st.folded;
        continue;
      }
      if (ca && b.slot_init[in.a] == 0 && (in.op == Op::add || in.op == Op::or_ || in.op == Op::xor_)) {
        repl[in.dst] = in.b;
        ++st.folded;
        continue;
      }
      if (in.op == Op::add) {
        if (ca) {  // the constant on the right
          std::swap(in.a, in.b);
          std::swap(ca, cb);
        }
        const uint64_t mask = type_mask(in.type);
        if (cb) {
          auto it = base_plus_const.find(in.a);
          if (it != base_plus_const.end()) {  // (x + c1) + c2
            uint64_t c = (it->second.second + b.slot_init[in.b]) & mask;
            if (c == 0) {
              repl[in.dst] = it->second.first;
              ++st.folded;
              continue;
            }
            in.a = it->second.first;
            in.b = bld.konst(in.type, c);
            grow();
            ++st.folded;
          }
          base_plus_const[in.dst] = {in.a, b.slot_init[in.b]};
        } else {
          auto it = base_plus_const.find(in.a);
          if (it == base_plus_const.end()) {
            it = base_plus_const.find(in.b);
            if (it != base_plus_const.end()) std::swap(in.a, in.b);
          }
          if (it != base_plus_const.end()) {  // (x + c) + y: t = x + y first, then t + c
            Inst sum = in;
            sum.dst = bld.temp(in.type);
            grow();
            sum.a = it->second.first;
            out.push_back(sum);
            dead.push_back(false);
            const uint64_t c = it->second.second;
            in.a = sum.dst;
            in.b = bld.konst(in.type, c);
            grow();
            base_plus_const[in.dst] = {sum.dst, c};
            ++st.folded;
          }
        }
      }
    }
    if (info.has_dst && !(info.flags & (OpFlag::Mem | OpFlag::Effect | OpFlag::Trap)) && in.op != Op::get) {
      PureKey key{in.op, in.type, in.sub, in.a, in.b, in.c, in.aux};
      auto [it, fresh] = pure.try_emplace(key, in.dst);
      if (!fresh) {
        repl[in.dst] = it->second;
        ++st.cse;
        continue;
      }
    }
    out.push_back(in);
    dead.push_back(false);
  }
  new_index[n_in] = uint32_t(out.size());

  // Dead-code elimination, backwards: keep effects and whatever they use.
  std::vector<bool> used(b.num_slots());
  for (size_t i = out.size(); i-- > 0;) {
    const Inst& in = out[i];
    const OpInfo& info = op_info(in.op);
    bool needed = !dead[i] && (!info.has_dst || used[in.dst] || (info.flags & (OpFlag::Effect | OpFlag::Mem | OpFlag::Term)));
    if (!needed) {
      dead[i] = true;
      if (info.has_dst) ++st.dead_removed;
      continue;
    }
    for (Slot s : {in.a, in.b, in.c})
      if (s != kNoSlot) used[s] = true;
  }
  std::vector<uint32_t> compact(out.size() + 1);
  std::vector<Inst> kept;
  kept.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    compact[i] = uint32_t(kept.size());
    if (!dead[i]) kept.push_back(out[i]);
  }
  compact[out.size()] = uint32_t(kept.size());
  for (auto& m : b.marks) m.first_inst = compact[new_index[m.first_inst]];
  b.insts = std::move(kept);
  return st;
}

}  // namespace vmkit::ir
