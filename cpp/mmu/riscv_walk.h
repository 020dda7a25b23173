// RISC-V Sv39/Sv48 page-table walk (privileged spec §4.3.2 "Virtual Address Translation Process",
// §4.4 Sv39, §4.5 Sv48) for system mode's software MMU. It reads PTEs through an abstract physical
// memory interface, so the walker knows nothing about RAM layout, devices or the TLB; it sets the
// A and D bits itself with a compare-and-swap on the PTE, the way hardware with Svadu (and qemu)
// does, so Linux never takes a fault just to have them set.
//
// Neither Svnapot nor Svpbmt is advertised, so PTE bits 63..54 (N, PBMT, reserved) must be zero.
#pragma once

#include <cstdint>

namespace vmkit::rv64 {

// Physical memory as the walker sees it. Both calls return false when `paddr` is not readable
// (respectively writable) memory, which the walker reports as an access fault.
struct PhysicalMemoryAccess {
  virtual ~PhysicalMemoryAccess() = default;
  // Reads the aligned 8-byte word at paddr.
  virtual bool read64(uint64_t paddr, uint64_t& value) = 0;
  // Atomically replaces the word at paddr with `desired` if it still equals `expected`. Returns
  // true only when the swap happened (false both for "changed meanwhile" and "not writable").
  virtual bool cas64(uint64_t paddr, uint64_t expected, uint64_t desired) = 0;
};

// satp.MODE encodings of the modes the walker implements.
enum class SatpMode : uint8_t { Sv39 = 8, Sv48 = 9 };

// Named apart from vmkit::MemAccess (the hook API's Read/Write), which rv64 code also sees.
enum class WalkAccess : uint8_t { Fetch, Load, Store };  // a store includes AMOs and SC

enum class WalkPriv : uint8_t { User = 0, Supervisor = 1 };

// PTE bits (§4.4.1, Figure "Sv39 page table entry"; identical for Sv48).
namespace pte {
constexpr uint64_t V = 1ull << 0;
constexpr uint64_t R = 1ull << 1;
constexpr uint64_t W = 1ull << 2;
constexpr uint64_t X = 1ull << 3;
constexpr uint64_t U = 1ull << 4;
constexpr uint64_t G = 1ull << 5;
constexpr uint64_t A = 1ull << 6;
constexpr uint64_t D = 1ull << 7;
constexpr unsigned kPpnShift = 10;
constexpr uint64_t kPpnMask = (1ull << 44) - 1;           // PPN is bits 53..10
constexpr uint64_t kReservedHighBits = ~0ull << 54;       // N (63), PBMT (62..61), reserved (60..54)
}  // namespace pte

// Exception causes of the mcause/scause encoding that a translation can raise.
namespace cause {
constexpr uint32_t kFetchAccessFault = 1;
constexpr uint32_t kLoadAccessFault = 5;
constexpr uint32_t kStoreAccessFault = 7;  // also AMO
constexpr uint32_t kFetchPageFault = 12;
constexpr uint32_t kLoadPageFault = 13;
constexpr uint32_t kStorePageFault = 15;  // also AMO
}  // namespace cause

struct WalkRequest {
  SatpMode mode = SatpMode::Sv39;
  uint64_t root_ppn = 0;  // satp.PPN
  uint64_t va = 0;
  WalkAccess access = WalkAccess::Load;
  WalkPriv priv = WalkPriv::Supervisor;  // effective privilege of the access
  bool sum = false;                      // sstatus.SUM: S-mode loads/stores may touch U pages
  bool mxr = false;                      // sstatus.MXR: loads may read execute-only pages
};

enum class WalkStatus : uint8_t { Ok, PageFault, AccessFault };

struct WalkResult {
  WalkStatus status = WalkStatus::Ok;
  uint32_t cause = 0;  // when status != Ok: the exception cause to raise, with tval = va
  // When status == Ok:
  uint64_t pa = 0;
  unsigned level = 0;      // 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB (Sv48 only)
  uint64_t pte = 0;        // the leaf PTE as it is in memory after the A/D update
  uint64_t pte_addr = 0;   // physical address of the leaf PTE
  // G of the leaf or of any non-leaf PTE above it: a global non-leaf PTE makes every mapping
  // below it global (§4.3.1), so a TLB must tag the translation global even if the leaf's G is 0.
  bool global_mapping = false;

  bool ok() const { return status == WalkStatus::Ok; }
  unsigned page_shift() const { return 12 + 9 * level; }
  uint64_t page_size() const { return 1ull << page_shift(); }
  bool readable() const { return pte & pte::R; }
  bool writable() const { return pte & pte::W; }
  bool executable() const { return pte & pte::X; }
  bool user() const { return pte & pte::U; }
  bool global() const { return global_mapping; }
  bool dirty() const { return pte & pte::D; }
};

// Translates req.va. On success the leaf's A bit is set, and D too for a store; a load leaves D
// as it was, so a TLB filled from a load must not allow stores unless dirty() (the first store
// walks again and sets D).
WalkResult riscv_walk(PhysicalMemoryAccess& mem, const WalkRequest& req);

// Number of VA bits a mode translates (39 or 48); the rest must be copies of the top one.
unsigned va_bits(SatpMode mode);

}  // namespace vmkit::rv64
