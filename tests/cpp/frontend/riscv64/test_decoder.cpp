// The RV64 decoder as a whole: table consistency (no two instructions claim one encoding),
// name lookup for representative encodings, and a sweep of random words that must always lift
// to verifier-clean IR (the same property the fuzz target checks, in a quick deterministic form).
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "frontend/riscv64/frontend.h"
#include "frontend/riscv64/lift.h"
#include "ir/passes.h"
#include "mmu/guest_memory.h"
#include "rv64_test_util.h"

namespace vmkit::rv64::test {
namespace {

std::vector<const InsnDesc*> all_entries() {
  std::vector<const InsnDesc*> out;
  for (InsnTable t : {base_insns(), muldiv_insns(), atomic_insns(), bitmanip_insns(), fp_insns()})
    for (unsigned i = 0; i < t.count; ++i) out.push_back(&t.insns[i]);
  return out;
}

TEST(Rv64Decoder, TableEntriesAreWellFormedAndDisjoint) {
  std::vector<const InsnDesc*> all = all_entries();
  // RV64I+Zifencei+Zicsr (59), M (13), A (22), Zba/Zbb/Zbs (40), plus F/D.
  ASSERT_GE(all.size(), 134u);
  for (const InsnDesc* d : all) {
    EXPECT_EQ(d->mask & 0x7f, 0x7fu) << d->name << ": the opcode must be fixed (the decoder buckets by it)";
    EXPECT_EQ(d->match & 3, 3u) << d->name;
    EXPECT_EQ(d->match & ~d->mask, 0u) << d->name << ": match has bits outside its mask";
  }
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = i + 1; j < all.size(); ++j) {
      const InsnDesc& a = *all[i];
      const InsnDesc& b = *all[j];
      // Some word matches both iff they agree on every bit both masks fix.
      EXPECT_NE((a.match ^ b.match) & a.mask & b.mask, 0u) << a.name << " overlaps " << b.name;
    }
}

TEST(Rv64Decoder, NamesOfRepresentativeEncodings) {
  // Words from riscv64-linux-gnu-objdump of rv64gc_zba_zbb_zbs code.
  const std::pair<uint32_t, const char*> cases[] = {
      {0x00000037, "lui"},      {0x00008067, "jalr"},     {0xfe0718e3, "bne"},     {0x0007b783, "ld"},
      {0x0047e783, "lwu"},      {0x00f13423, "sd"},       {0x03f79793, "slli"},    {0x4037d793, "srai"},
      {0x01f7d79b, "srliw"},    {0x40f7073b, "subw"},     {0x02f7073b, "mulw"},    {0x02f7c7b3, "div"},
      {0x02f7f7bb, "remuw"},    {0x1005272f, "lr.w"},     {0x18f5b72f, "sc.d"},    {0x0cf5a72f, "amoswap.w.aq"},
      {0xc0f5b72f, "amominu.d"}, {0x0ff0000f, "fence"},   {0x0000100f, "fence.i"}, {0x00000073, "ecall"},
      {0x00100073, "ebreak"},   {0x003027f3, "csrrs"},    {0xc01027f3, "csrrs"},   {0x0027d073, "csrrwi"},
      {0x6b815093, "rev8"},     {0x28715093, "orc.b"},    {0x080140bb, "zext.h"},  {0x0801109b, "slli.uw"},
      {0x60015093, "rori"},     {0x48015093, "bexti"},
  };
  for (auto [word, name] : cases) {
    const InsnDesc* d = decode(word);
    ASSERT_NE(d, nullptr) << std::hex << word;
    std::string want = name;
    // The AMO table has one entry per operation; aq/rl are ignored bits.
    if (want.ends_with(".aq")) want.resize(want.size() - 3);
    EXPECT_EQ(std::string(d->name), want) << std::hex << word;
  }
}

TEST(Rv64Decoder, ReservedAndUnknownEncodingsDecodeToNothing) {
  for (uint32_t w : {0x00000000u, 0xffffffffu, 0x0000707fu /* opcode 0x7f (>32-bit encodings) */,
                     0x00004073u /* SYSTEM funct3 100 */, 0x0000700fu /* MISC-MEM funct3 7 */,
                     0x00007003u /* load funct3 7 */, 0x00004023u /* store funct3 4 */,
                     0x00002067u /* jalr funct3 2 */, 0x00002063u /* branch funct3 2 */,
                     0x0200103bu /* OP-32 mulw slot funct3 1 */, 0x1010202fu /* lr.w with rs2 != 0 */,
                     0x00200073u /* uret-like SYSTEM word with funct3 0 */}) {
    EXPECT_EQ(decode(w), nullptr) << std::hex << w;
  }
}

// Reads code from a byte vector mapped at a fixed base.
struct VectorCode : CodeSource {
  uint64_t base;
  std::vector<uint8_t> bytes;
  bool fetch(uint64_t addr, void* out, size_t n) const override {
    if (addr < base || addr - base + n > bytes.size()) return false;
    std::memcpy(out, bytes.data() + (addr - base), n);
    return true;
  }
};

TEST(Rv64Decoder, RandomWordsLiftToVerifiedIr) {
  auto fe = make_frontend();
  std::mt19937_64 rng(12345);
  VectorCode code;
  code.base = 0x1000;
  unsigned decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    code.bytes.resize(64);
    for (auto& byte : code.bytes) byte = uint8_t(rng());
    // Bias toward valid 32-bit opcodes so the lifters, not only the illegal path, are exercised.
    for (size_t i = 0; i + 4 <= code.bytes.size(); i += 4)
      if (rng() & 1) code.bytes[i] |= 3;
    for (uint64_t start : {uint64_t(0x1000), uint64_t(0x1002), uint64_t(0x1020)}) {
      ir::Block b;
      b.pc = b.end_pc = start;
      b.arch = &fe->arch();
      ir::Builder builder(b);
      fe->translate(start, code, builder, 16);
      ASSERT_TRUE(builder.terminated());
      std::string err = ir::verify(b);
      ASSERT_EQ(err, "") << ir::print(b);
      decoded += unsigned(b.marks.size());
      ir::optimize(b);
      err = ir::verify(b);
      ASSERT_EQ(err, "") << "after optimize:\n" << ir::print(b);
    }
  }
  EXPECT_GT(decoded, 9000u);
}

}  // namespace
}  // namespace vmkit::rv64::test
