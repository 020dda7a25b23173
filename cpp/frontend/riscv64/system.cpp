#include "frontend/riscv64/system.h"

#include <cstring>

#include "devices/bus.h"

namespace vmkit::rv64 {

namespace {
// misa: RV64 (MXL = 2) with I, M, A, F, D, C, S and U, exactly what the lifters implement.
constexpr uint64_t kMisa = (2ull << 62) | (1u << 0) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 8) | (1u << 12) |
                           (1u << 18) | (1u << 20);
// Exceptions a supervisor can be given (medeleg's writable bits): all but ecall from M and the
// reserved causes 10 and 14.
constexpr uint64_t kDelegableExceptions = 0xb3ff;
constexpr uint64_t kMieWritable = irq::kAllBits;
// mip bits M-mode software may write: SSIP, STIP (without Sstc) and the software SEIP.
constexpr uint64_t kMipWritable = irq::kSupervisorBits;
constexpr uint64_t kMenvcfgStce = 1ull << 63;
constexpr uint64_t kEnvcfgFiom = 1;
// The order in which pending interrupts are taken (privileged spec §3.1.9).
constexpr unsigned kInterruptPriority[] = {irq::kMei, irq::kMsi, irq::kMti, irq::kSei, irq::kSsi, irq::kSti};
}  // namespace

System::System(State& state, PhysicalMemory& ram, devices::Bus& bus, devices::HartLines& lines,
               const devices::TimeSource& time, Config config)
    : state_(state),
      ram_(ram),
      lines_(lines),
      time_(time),
      config_(config),
      mmu_(std::make_unique<SoftMmu>(ram, bus, *this, state.common.trap)),
      code_(*mmu_) {
  state_.common.mmu = mmu_.get();
  state_.common.system = this;
  reset(0, Priv::Machine);
}

System::~System() {
  state_.common.mmu = nullptr;
  state_.common.system = nullptr;
}

void System::reset(uint64_t pc, Priv priv) {
  state_.sys = PrivState{};
  state_.sys.priv = uint64_t(priv);
  state_.sys.mstatus = mstatus::UXL | mstatus::SXL;
  state_.pc = pc;
  state_.res_addr = kNoReservation;
  tlb_.flush_all();
  mmu_->flush();
  update_modes();
  halt = Halt::None;
}

void System::enter_supervisor(uint64_t pc, uint64_t hartid, uint64_t dtb) {
  reset(pc, Priv::Supervisor);
  PrivState& p = state_.sys;
  // Everything a kernel handles itself goes straight to S: misaligned accesses, access and page
  // faults, illegal instructions, breakpoints and ecalls from U. Nothing in M-mode emulates.
  p.medeleg = (1u << exc::kFetchMisaligned) | (1u << exc::kFetchAccess) | (1u << exc::kIllegal) |
              (1u << exc::kBreakpoint) | (1u << exc::kLoadMisaligned) | (1u << exc::kLoadAccess) |
              (1u << exc::kStoreMisaligned) | (1u << exc::kStoreAccess) | (1u << exc::kEcallU) |
              (1u << exc::kFetchPage) | (1u << exc::kLoadPage) | (1u << exc::kStorePage);
  p.mideleg = irq::kSupervisorBits;
  p.mcounteren = 7;  // cycle, time, instret readable from S
  p.menvcfg = kMenvcfgStce;
  p.mstatus |= 1ull << mstatus::kFsShift;  // FS = Initial
  state_.x[10] = hartid;
  state_.x[11] = dtb;
  update_modes();
}

// ---- translation ------------------------------------------------------------------------------

void System::update_modes() {
  const PrivState& p = state_.sys;
  Priv priv = Priv(p.priv);
  Priv data_priv = priv;
  if (priv == Priv::Machine && (p.mstatus & mstatus::MPRV)) data_priv = Priv((p.mstatus & mstatus::MPP) >> mstatus::kMppShift);
  auto mode_of = [&](Priv x, bool data) -> unsigned {
    if (x == Priv::Machine || !paging()) return kModeDirect;
    if (x == Priv::User) return kModeUser;
    return data && (p.mstatus & mstatus::SUM) ? kModeSupervisorSum : kModeSupervisor;
  };
  mmu_->set_modes(mode_of(data_priv, true), mode_of(priv, false));
}

PageTranslation System::translate(uint64_t va, MmuAccess access, unsigned mode) {
  PageTranslation t;
  if (mode == kModeDirect) {
    t.ok = true;
    t.pa = va;
    t.read = t.write = t.exec = true;
    return t;
  }
  const bool user = mode == kModeUser;
  const bool sum = mode == kModeSupervisorSum;
  const bool mxr = state_.sys.mstatus & mstatus::MXR;
  const TlbKind kind = access == MmuAccess::Fetch ? TlbKind::Instruction : TlbKind::Data;
  // What a cached translation allows this regime (the walker applies the same rules).
  auto allowed = [&](const TlbTranslation& e, PageTranslation& out) {
    const bool u_page = e.perm & kTlbUser;
    const bool reach = user ? u_page : (!u_page || sum);
    out.read = reach && ((e.perm & kTlbRead) || (mxr && (e.perm & kTlbExec)));
    out.write = reach && (e.perm & kTlbWrite) && e.dirty;
    // S-mode never executes user pages, SUM or not.
    out.exec = (user ? u_page : !u_page) && (e.perm & kTlbExec);
  };
  if (auto hit = tlb_.lookup(kind, va, asid())) {
    allowed(*hit, t);
    bool ok = access == MmuAccess::Fetch ? t.exec : access == MmuAccess::Load ? t.read : t.write;
    if (ok) {
      t.ok = true;
      t.pa = hit->translate(va);
      t.page_size = hit->page_size();
      return t;
    }
    // Not allowed as cached: walk again (the PTE may have changed, or D must be set).
  }
  WalkRequest req;
  req.mode = satp_mode();
  req.root_ppn = state_.sys.satp & ((1ull << 44) - 1);
  req.va = va;
  req.access = access == MmuAccess::Fetch ? WalkAccess::Fetch : access == MmuAccess::Load ? WalkAccess::Load : WalkAccess::Store;
  req.priv = user ? WalkPriv::User : WalkPriv::Supervisor;
  req.sum = sum;
  req.mxr = mxr;
  WalkResult w = riscv_walk(*this, req);
  if (!w.ok()) {
    t.cause = w.cause;
    return t;
  }
  TlbTranslation e;
  e.va_page = va & ~(w.page_size() - 1);
  e.pa_page = w.pa & ~(w.page_size() - 1);
  e.level = uint8_t(w.level);
  e.perm = uint8_t((w.readable() ? kTlbRead : 0) | (w.writable() ? kTlbWrite : 0) | (w.executable() ? kTlbExec : 0) |
                   (w.user() ? kTlbUser : 0));
  e.global = w.global();
  e.dirty = w.dirty();
  e.asid = asid();
  tlb_.fill(kind, e);
  allowed(e, t);
  t.ok = true;
  t.pa = w.pa;
  t.page_size = w.page_size();
  return t;
}

uint32_t System::access_fault_cause(MmuAccess access) const {
  switch (access) {
    case MmuAccess::Fetch: return exc::kFetchAccess;
    case MmuAccess::Load: return exc::kLoadAccess;
    case MmuAccess::Store: return exc::kStoreAccess;
  }
  return exc::kLoadAccess;
}

bool System::read64(uint64_t paddr, uint64_t& value) {
  uint8_t* p = ram_.host(paddr, 8);
  if (!p) return false;
  value = __atomic_load_n(reinterpret_cast<uint64_t*>(p), __ATOMIC_ACQUIRE);
  return true;
}

bool System::cas64(uint64_t paddr, uint64_t expected, uint64_t desired) {
  uint8_t* p = ram_.host(paddr, 8);
  if (!p) return false;
  return __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(p), &expected, desired, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST);
}

bool System::code_key(uint64_t pc, uint64_t& key) {
  uint64_t pa;
  if (!mmu_->translate_fetch(pc, pa)) return false;
  // The lifted code depends on the bytes (the physical page) and on the virtual pc (the block's
  // own key); nothing the lifters emit depends on the privilege level.
  key = pa & SoftMmu::kPageMask;
  return true;
}

bool System::sfence_vma(bool has_va, uint64_t va, bool has_asid, uint64_t asid_value) {
  const PrivState& p = state_.sys;
  if (Priv(p.priv) == Priv::User || (Priv(p.priv) == Priv::Supervisor && (p.mstatus & mstatus::TVM))) return false;
  uint16_t a = uint16_t(asid_value);
  if (!has_va && !has_asid) tlb_.flush_all();
  else if (!has_va) tlb_.flush_asid(a);
  else if (!has_asid) tlb_.flush_page(va);
  else tlb_.flush_page_asid(va, a);
  // The fast tables hold the current address space only.
  if (has_va && (!has_asid || a == asid())) mmu_->flush_page(va);
  else if (!has_va) mmu_->flush();
  return true;
}

// ---- traps and interrupts ---------------------------------------------------------------------

void System::take_trap(uint64_t cause, uint64_t tval, uint64_t epc, bool interrupt) {
  PrivState& p = state_.sys;
  const Priv from = Priv(p.priv);
  const uint64_t deleg = interrupt ? p.mideleg : p.medeleg;
  const uint64_t code = interrupt ? (1ull << 63) | cause : cause;
  // A taken trap ends any LR reservation, as an SC across it must fail.
  state_.res_addr = kNoReservation;
  if (from != Priv::Machine && ((deleg >> cause) & 1)) {
    p.sepc = epc;
    p.scause = code;
    p.stval = tval;
    uint64_t s = p.mstatus;
    s = (s & ~mstatus::SPIE) | ((s & mstatus::SIE) ? mstatus::SPIE : 0);
    s &= ~mstatus::SIE;
    s = (s & ~mstatus::SPP) | (from == Priv::Supervisor ? mstatus::SPP : 0);
    p.mstatus = s;
    p.priv = uint64_t(Priv::Supervisor);
    uint64_t base = p.stvec & ~3ull;
    set_pc(interrupt && (p.stvec & 3) == 1 ? base + 4 * cause : base);
  } else {
    p.mepc = epc;
    p.mcause = code;
    p.mtval = tval;
    uint64_t s = p.mstatus;
    s = (s & ~mstatus::MPIE) | ((s & mstatus::MIE) ? mstatus::MPIE : 0);
    s &= ~mstatus::MIE;
    s = (s & ~mstatus::MPP) | (uint64_t(from) << mstatus::kMppShift);
    p.mstatus = s;
    p.priv = uint64_t(Priv::Machine);
    uint64_t base = p.mtvec & ~3ull;
    set_pc(interrupt && (p.mtvec & 3) == 1 ? base + 4 * cause : base);
  }
  update_modes();
}

uint64_t System::stimer_deadline() const {
  const PrivState& p = state_.sys;
  return (p.menvcfg & kMenvcfgStce) ? p.stimecmp : ~0ull;
}

uint64_t System::mip() const {
  const PrivState& p = state_.sys;
  uint64_t v = p.mip | lines_.bits();
  if ((p.menvcfg & kMenvcfgStce) && time() >= p.stimecmp) v |= 1ull << irq::kSti;
  return v;
}

void System::check_interrupts() {
  const PrivState& p = state_.sys;
  const uint64_t pending = mip() & p.mie;
  if (!pending) return;
  const Priv priv = Priv(p.priv);
  const bool m_enabled = priv != Priv::Machine || (p.mstatus & mstatus::MIE);
  const bool s_enabled = priv == Priv::User || (priv == Priv::Supervisor && (p.mstatus & mstatus::SIE));
  const uint64_t take = (m_enabled ? pending & ~p.mideleg : 0) | (s_enabled ? pending & p.mideleg : 0);
  if (!take) return;
  for (unsigned n : kInterruptPriority) {
    if ((take >> n) & 1) {
      take_trap(n, 0, state_.pc, true);
      return;
    }
  }
}

bool System::xret(uint64_t pc, uint32_t insn) {
  PrivState& p = state_.sys;
  const Priv priv = Priv(p.priv);
  const bool mret = insn == 0x30200073;
  if (mret ? priv != Priv::Machine
           : priv == Priv::User || (priv == Priv::Supervisor && (p.mstatus & mstatus::TSR))) {
    take_trap(exc::kIllegal, insn, pc, false);
    return true;
  }
  uint64_t s = p.mstatus;
  Priv to;
  if (mret) {
    to = Priv((s & mstatus::MPP) >> mstatus::kMppShift);
    s = (s & ~mstatus::MIE) | ((s & mstatus::MPIE) ? mstatus::MIE : 0);
    s |= mstatus::MPIE;
    s &= ~mstatus::MPP;  // MPP = U
    set_pc(p.mepc);
  } else {
    to = (s & mstatus::SPP) ? Priv::Supervisor : Priv::User;
    s = (s & ~mstatus::SIE) | ((s & mstatus::SPIE) ? mstatus::SIE : 0);
    s |= mstatus::SPIE;
    s &= ~mstatus::SPP;
    set_pc(p.sepc);
  }
  if (to != Priv::Machine) s &= ~mstatus::MPRV;
  p.mstatus = s;
  p.priv = uint64_t(to);
  update_modes();
  check_interrupts();
  return true;
}

bool System::on_event(SystemEvent event, uint64_t pc, uint64_t detail, uint64_t addr) {
  const Priv priv = Priv(state_.sys.priv);
  switch (event) {
    case SystemEvent::Ecall:
      if (priv == Priv::Supervisor && config_.native_sbi) {
        set_pc(pc + 4);
        return sbi_call();
      }
      take_trap(priv == Priv::User ? exc::kEcallU : priv == Priv::Supervisor ? exc::kEcallS : exc::kEcallM, 0, pc, false);
      return true;
    case SystemEvent::Breakpoint:
      take_trap(exc::kBreakpoint, pc, pc, false);
      return true;
    case SystemEvent::IllegalInsn:
      take_trap(exc::kIllegal, detail, pc, false);
      return true;
    case SystemEvent::FetchFault: {
      uint64_t pa;
      uint32_t cause = exc::kFetchAccess;
      if (!mmu_->translate_fetch(addr, pa, &cause)) take_trap(cause, addr, pc, false);
      else set_pc(pc);  // mapped meanwhile (cannot happen between translation and here; retry)
      return true;
    }
    case SystemEvent::ArchTrap:
      take_trap(detail, addr, pc, false);
      return true;
    case SystemEvent::Xret:
      return xret(pc, uint32_t(detail));
    case SystemEvent::Wfi: {
      const PrivState& p = state_.sys;
      if (priv == Priv::User || (priv == Priv::Supervisor && (p.mstatus & mstatus::TW))) {
        take_trap(exc::kIllegal, detail, pc - 4, false);
        return true;
      }
      set_pc(pc);
      // WFI ends when an interrupt is pending and enabled in mie, whatever the global enables.
      if (mip() & p.mie) {
        check_interrupts();
        return true;
      }
      halt = Halt::Idle;
      return false;
    }
    case SystemEvent::Resync:
      set_pc(pc);
      update_modes();
      check_interrupts();
      return true;
  }
  return true;
}

// ---- CSRs -------------------------------------------------------------------------------------

bool System::counter_enabled(uint32_t csr) const {
  const PrivState& p = state_.sys;
  const Priv priv = Priv(p.priv);
  const unsigned bit = csr & 31;
  if (priv == Priv::Machine) return true;
  if (!((p.mcounteren >> bit) & 1)) return false;
  return priv == Priv::Supervisor || ((p.scounteren >> bit) & 1);
}

bool System::csr_read(uint32_t csr, uint64_t& v) {
  PrivState& p = state_.sys;
  if (((csr >> 8) & 3) > p.priv) return false;
  switch (csr) {
    case csr::kFflags: v = state_.fflags & 0x1f; return true;
    case csr::kFrm: v = state_.frm & 7; return true;
    case csr::kFcsr: v = ((state_.frm & 7) << 5) | (state_.fflags & 0x1f); return true;
    case csr::kCycle:
    case csr::kInstret:
      if (!counter_enabled(csr)) return false;
      v = retired + uint64_t(csr == csr::kCycle ? p.cycle_offset : p.instret_offset);
      return true;
    case csr::kTime:
      if (!counter_enabled(csr)) return false;
      v = time();
      return true;
    case csr::kMcycle: v = retired + uint64_t(p.cycle_offset); return true;
    case csr::kMinstret: v = retired + uint64_t(p.instret_offset); return true;
    case csr::kSstatus: {
      uint64_t s = p.mstatus & mstatus::kSstatusView;
      // FS is reported Dirty whenever it is not Off (allowed by the spec): no tracking of FP writes.
      if (s & mstatus::FS) s |= mstatus::FS | mstatus::SD;
      v = s;
      return true;
    }
    case csr::kSie: v = p.mie & p.mideleg; return true;
    case csr::kStvec: v = p.stvec; return true;
    case csr::kScounteren: v = p.scounteren; return true;
    case csr::kSenvcfg: v = p.senvcfg; return true;
    case csr::kSscratch: v = p.sscratch; return true;
    case csr::kSepc: v = p.sepc; return true;
    case csr::kScause: v = p.scause; return true;
    case csr::kStval: v = p.stval; return true;
    case csr::kSip: v = mip() & p.mideleg; return true;
    case csr::kStimecmp:
      if (Priv(p.priv) == Priv::Supervisor && (!(p.menvcfg & kMenvcfgStce) || !(p.mcounteren & 2))) return false;
      v = p.stimecmp;
      return true;
    case csr::kSatp:
      if (Priv(p.priv) == Priv::Supervisor && (p.mstatus & mstatus::TVM)) return false;
      v = p.satp;
      return true;
    case csr::kMvendorid: case csr::kMarchid: case csr::kMimpid: case csr::kMhartid: case csr::kMconfigptr:
      v = 0;
      return true;
    case csr::kMstatus: {
      uint64_t s = p.mstatus;
      if (s & mstatus::FS) s |= mstatus::FS | mstatus::SD;
      v = s;
      return true;
    }
    case csr::kMisa: v = kMisa; return true;
    case csr::kMedeleg: v = p.medeleg; return true;
    case csr::kMideleg: v = p.mideleg; return true;
    case csr::kMie: v = p.mie; return true;
    case csr::kMtvec: v = p.mtvec; return true;
    case csr::kMcounteren: v = p.mcounteren; return true;
    case csr::kMenvcfg: v = p.menvcfg; return true;
    case csr::kMcountinhibit: v = p.mcountinhibit; return true;
    case csr::kMscratch: v = p.mscratch; return true;
    case csr::kMepc: v = p.mepc; return true;
    case csr::kMcause: v = p.mcause; return true;
    case csr::kMtval: v = p.mtval; return true;
    case csr::kMip: v = mip(); return true;
  }
  if (csr >= csr::kHpmcounter3 && csr <= csr::kHpmcounter31) {
    if (!counter_enabled(csr)) return false;
    v = 0;  // the hardware performance counters exist and count nothing
    return true;
  }
  if ((csr >= csr::kMhpmcounter3 && csr <= csr::kMhpmcounter31) || (csr >= csr::kMhpmevent3 && csr <= csr::kMhpmevent31)) {
    v = 0;
    return true;
  }
  if (csr >= csr::kPmpcfg0 && csr <= csr::kPmpcfg15) {
    if (csr & 1) return false;  // odd pmpcfg registers do not exist on RV64
    v = p.pmpcfg[(csr - csr::kPmpcfg0) / 2];
    return true;
  }
  if (csr >= csr::kPmpaddr0 && csr <= csr::kPmpaddr63) {
    v = p.pmpaddr[csr - csr::kPmpaddr0];
    return true;
  }
  return false;
}

bool System::debug_csr_read(uint32_t csr, uint64_t& value) {
  const uint64_t priv = state_.sys.priv;
  state_.sys.priv = uint64_t(Priv::Machine);
  bool ok = csr_read(csr, value);
  state_.sys.priv = priv;
  return ok;
}

bool System::csr_write(uint32_t csr, uint64_t v) {
  PrivState& p = state_.sys;
  if (((csr >> 8) & 3) > p.priv || (csr >> 10) == 3) return false;
  uint64_t ignored;
  if (!csr_read(csr, ignored)) return false;  // the same existence and access checks
  switch (csr) {
    case csr::kFflags: state_.fflags = uint32_t(v & 0x1f); return true;
    case csr::kFrm: state_.frm = uint32_t(v & 7); return true;
    case csr::kFcsr:
      state_.fflags = uint32_t(v & 0x1f);
      state_.frm = uint32_t((v >> 5) & 7);
      return true;
    case csr::kMcycle: p.cycle_offset = int64_t(v - retired); return true;
    case csr::kMinstret: p.instret_offset = int64_t(v - retired); return true;
    case csr::kSstatus: {
      uint64_t old_mxr = p.mstatus & mstatus::MXR;
      p.mstatus = (p.mstatus & ~mstatus::kSstatusWritable) | (v & mstatus::kSstatusWritable);
      if ((p.mstatus & mstatus::MXR) != old_mxr) mmu_->flush();
      return true;
    }
    case csr::kSie: p.mie = (p.mie & ~p.mideleg) | (v & p.mideleg); return true;
    case csr::kStvec: p.stvec = (v & 3) >= 2 ? (v & ~3ull) | (p.stvec & 3) : v; return true;
    case csr::kScounteren: p.scounteren = v & 0xffffffff; return true;
    case csr::kSenvcfg: p.senvcfg = v & kEnvcfgFiom; return true;
    case csr::kSscratch: p.sscratch = v; return true;
    case csr::kSepc: p.sepc = v & ~1ull; return true;
    case csr::kScause: p.scause = v; return true;
    case csr::kStval: p.stval = v; return true;
    case csr::kSip: {
      // Only SSIP is writable through sip, and only when delegated.
      uint64_t m = (1ull << irq::kSsi) & p.mideleg;
      p.mip = (p.mip & ~m) | (v & m);
      return true;
    }
    case csr::kStimecmp: p.stimecmp = v; return true;
    case csr::kSatp: {
      uint64_t mode = v >> 60;
      // WARL: a mode this hart does not implement leaves satp unchanged (the kernel probes
      // Sv57, then Sv48, then Sv39 this way).
      if (mode != 0 && mode != uint64_t(SatpMode::Sv39) &&
          !(mode == uint64_t(SatpMode::Sv48) && config_.max_satp_mode == SatpMode::Sv48))
        return true;
      uint64_t nv = v & ((0xfull << 60) | (0xffffull << 44) | ((1ull << 44) - 1));
      if (nv != p.satp) {
        p.satp = nv;
        mmu_->flush();  // the L2 TLB keeps other address spaces (its entries are ASID-tagged)
      }
      return true;
    }
    case csr::kMstatus: {
      uint64_t old = p.mstatus;
      uint64_t nv = (old & ~mstatus::kWritable) | (v & mstatus::kWritable);
      if (((nv & mstatus::MPP) >> mstatus::kMppShift) == 2) nv = (nv & ~mstatus::MPP) | (old & mstatus::MPP);  // WARL
      p.mstatus = nv;
      if ((nv ^ old) & mstatus::MXR) mmu_->flush();
      return true;
    }
    case csr::kMisa: return true;  // WARL: the extensions cannot be turned off
    case csr::kMedeleg: p.medeleg = v & kDelegableExceptions; return true;
    case csr::kMideleg: p.mideleg = v & irq::kSupervisorBits; return true;
    case csr::kMie: p.mie = v & kMieWritable; return true;
    case csr::kMtvec: p.mtvec = (v & 3) >= 2 ? (v & ~3ull) | (p.mtvec & 3) : v; return true;
    case csr::kMcounteren: p.mcounteren = v & 0xffffffff; return true;
    case csr::kMenvcfg: p.menvcfg = v & (kMenvcfgStce | kEnvcfgFiom); return true;
    case csr::kMcountinhibit: p.mcountinhibit = v & 0xfffffffd; return true;
    case csr::kMscratch: p.mscratch = v; return true;
    case csr::kMepc: p.mepc = v & ~1ull; return true;
    case csr::kMcause: p.mcause = v; return true;
    case csr::kMtval: p.mtval = v; return true;
    case csr::kMip: {
      uint64_t m = kMipWritable;
      if (p.menvcfg & kMenvcfgStce) m &= ~(1ull << irq::kSti);  // Sstc drives STIP itself
      p.mip = (p.mip & ~m) | (v & m);
      return true;
    }
  }
  if (csr >= csr::kPmpcfg0 && csr <= csr::kPmpcfg15) {
    p.pmpcfg[(csr - csr::kPmpcfg0) / 2] = v;
    return true;
  }
  if (csr >= csr::kPmpaddr0 && csr <= csr::kPmpaddr63) {
    p.pmpaddr[csr - csr::kPmpaddr0] = v & ((1ull << 54) - 1);
    return true;
  }
  return true;  // the performance counters and events: writes are ignored
}

}  // namespace vmkit::rv64
