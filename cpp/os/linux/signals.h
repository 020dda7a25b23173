// Guest signal numbers and flags (asm-generic values, the same on riscv64 and aarch64), shared by
// the syscall layer and the delivery code in signals.cpp. The frame layout is per arch (arch.h).
#pragma once

#include <cstdint>

namespace vmkit::linux_user::gsig {

// Signal numbers (asm-generic; identical to x86-64's).
enum : int {
  kSIGHUP = 1, kSIGINT = 2, kSIGQUIT = 3, kSIGILL = 4, kSIGTRAP = 5, kSIGABRT = 6, kSIGBUS = 7,
  kSIGFPE = 8, kSIGKILL = 9, kSIGUSR1 = 10, kSIGSEGV = 11, kSIGUSR2 = 12, kSIGPIPE = 13,
  kSIGALRM = 14, kSIGTERM = 15, kSIGSTKFLT = 16, kSIGCHLD = 17, kSIGCONT = 18, kSIGSTOP = 19,
  kSIGTSTP = 20, kSIGTTIN = 21, kSIGTTOU = 22, kSIGURG = 23, kSIGXCPU = 24, kSIGXFSZ = 25,
  kSIGVTALRM = 26, kSIGPROF = 27, kSIGWINCH = 28, kSIGIO = 29, kSIGPWR = 30, kSIGSYS = 31,
};

constexpr uint64_t kSA_SIGINFO = 0x4, kSA_ONSTACK = 0x08000000, kSA_RESTART = 0x10000000,
                   kSA_NODEFER = 0x40000000, kSA_RESETHAND = 0x80000000,
                   kSA_RESTORER = 0x04000000;  // aarch64 only (struct sigaction has sa_restorer)
constexpr uint64_t kSIG_DFL = 0, kSIG_IGN = 1;
constexpr int kSS_ONSTACK = 1, kSS_DISABLE = 2;

// si_code values.
constexpr int kSI_USER = 0, kSI_TKILL = -6, kSEGV_MAPERR = 1, kSEGV_ACCERR = 2, kILL_ILLOPC = 1, kILL_ILLOPN = 2, kSI_KERNEL = 0x80,
              kTRAP_BRKPT = 1, kBUS_ADRERR = 2;

constexpr uint64_t bit(int signo) { return 1ull << (signo - 1); }
// Signals whose default action is to ignore them (stop/continue count as ignore here: a
// user-mode emulator has no job control to stop).
constexpr uint64_t kDefaultIgnored = bit(kSIGCHLD) | bit(kSIGCONT) | bit(kSIGURG) | bit(kSIGWINCH) |
                                     bit(kSIGSTOP) | bit(kSIGTSTP) | bit(kSIGTTIN) | bit(kSIGTTOU);
constexpr uint64_t kUnblockable = bit(kSIGKILL) | bit(kSIGSTOP);

}  // namespace vmkit::linux_user::gsig
