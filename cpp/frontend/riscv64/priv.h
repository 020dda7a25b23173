// RISC-V privileged architecture state (privileged spec 1.12): the machine and supervisor CSRs a
// system-mode guest sees, with their numbers and bit layouts. The state lives at the end of
// rv64::State; user mode never touches it. The behaviour is in system.cpp.
#pragma once

#include <cstdint>

namespace vmkit::rv64 {

enum class Priv : uint8_t { User = 0, Supervisor = 1, Machine = 3 };

namespace csr {
// Unprivileged.
constexpr uint32_t kFflags = 0x001, kFrm = 0x002, kFcsr = 0x003;
constexpr uint32_t kCycle = 0xc00, kTime = 0xc01, kInstret = 0xc02;
constexpr uint32_t kHpmcounter3 = 0xc03, kHpmcounter31 = 0xc1f;
// Supervisor.
constexpr uint32_t kSstatus = 0x100, kSie = 0x104, kStvec = 0x105, kScounteren = 0x106, kSenvcfg = 0x10a;
constexpr uint32_t kSscratch = 0x140, kSepc = 0x141, kScause = 0x142, kStval = 0x143, kSip = 0x144;
constexpr uint32_t kStimecmp = 0x14d, kSatp = 0x180;
// Machine.
constexpr uint32_t kMvendorid = 0xf11, kMarchid = 0xf12, kMimpid = 0xf13, kMhartid = 0xf14, kMconfigptr = 0xf15;
constexpr uint32_t kMstatus = 0x300, kMisa = 0x301, kMedeleg = 0x302, kMideleg = 0x303, kMie = 0x304;
constexpr uint32_t kMtvec = 0x305, kMcounteren = 0x306, kMenvcfg = 0x30a, kMcountinhibit = 0x320;
constexpr uint32_t kMhpmevent3 = 0x323, kMhpmevent31 = 0x33f;
constexpr uint32_t kMscratch = 0x340, kMepc = 0x341, kMcause = 0x342, kMtval = 0x343, kMip = 0x344;
constexpr uint32_t kPmpcfg0 = 0x3a0, kPmpcfg15 = 0x3af, kPmpaddr0 = 0x3b0, kPmpaddr63 = 0x3ef;
constexpr uint32_t kMcycle = 0xb00, kMinstret = 0xb02, kMhpmcounter3 = 0xb03, kMhpmcounter31 = 0xb1f;
}  // namespace csr

namespace mstatus {
constexpr uint64_t SIE = 1ull << 1, MIE = 1ull << 3, SPIE = 1ull << 5, MPIE = 1ull << 7, SPP = 1ull << 8;
constexpr unsigned kMppShift = 11, kFsShift = 13;
constexpr uint64_t MPP = 3ull << kMppShift, FS = 3ull << kFsShift;
constexpr uint64_t MPRV = 1ull << 17, SUM = 1ull << 18, MXR = 1ull << 19;
constexpr uint64_t TVM = 1ull << 20, TW = 1ull << 21, TSR = 1ull << 22;
constexpr uint64_t UXL = 2ull << 32, SXL = 2ull << 34;  // both XLEN 64, read-only
constexpr uint64_t SD = 1ull << 63;
// What software can change through mstatus, and what sstatus shows of it.
constexpr uint64_t kWritable = SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;
constexpr uint64_t kSstatusView = SIE | SPIE | SPP | FS | SUM | MXR | UXL | SD;
constexpr uint64_t kSstatusWritable = SIE | SPIE | SPP | FS | SUM | MXR;
}  // namespace mstatus

// Interrupt numbers (bits of mip/mie, and scause/mcause with the top bit set).
namespace irq {
constexpr unsigned kSsi = 1, kMsi = 3, kSti = 5, kMti = 7, kSei = 9, kMei = 11;
constexpr uint64_t kSupervisorBits = (1ull << kSsi) | (1ull << kSti) | (1ull << kSei);
constexpr uint64_t kAllBits = kSupervisorBits | (1ull << kMsi) | (1ull << kMti) | (1ull << kMei);
}  // namespace irq

// Exception causes (mcause/scause without the interrupt bit).
namespace exc {
constexpr uint32_t kFetchMisaligned = 0, kFetchAccess = 1, kIllegal = 2, kBreakpoint = 3;
constexpr uint32_t kLoadMisaligned = 4, kLoadAccess = 5, kStoreMisaligned = 6, kStoreAccess = 7;
constexpr uint32_t kEcallU = 8, kEcallS = 9, kEcallM = 11;
constexpr uint32_t kFetchPage = 12, kLoadPage = 13, kStorePage = 15;
}  // namespace exc

struct PrivState {
  uint64_t priv = 3;  // Priv: the hart starts in M-mode
  uint64_t mstatus = 0;
  uint64_t medeleg = 0, mideleg = 0, mie = 0;
  uint64_t mip = 0;  // the bits software writes (SSIP, STIP without Sstc, SEIP); devices add theirs
  uint64_t mtvec = 0, mscratch = 0, mepc = 0, mcause = 0, mtval = 0;
  uint64_t mcounteren = 0, menvcfg = 0, mcountinhibit = 0;
  uint64_t stvec = 0, sscratch = 0, sepc = 0, scause = 0, stval = 0;
  uint64_t scounteren = 0, senvcfg = 0, satp = 0, stimecmp = ~0ull;
  uint64_t pmpcfg[8] = {};    // pmpcfg0, 2, ..., 14 (RV64 has only the even ones)
  uint64_t pmpaddr[64] = {};  // kept as written (WARL storage; PMP is not enforced)
  int64_t cycle_offset = 0, instret_offset = 0;  // mcycle/minstret writes, against retired count
};

}  // namespace vmkit::rv64
