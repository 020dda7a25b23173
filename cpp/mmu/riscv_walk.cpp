// Sv39/Sv48 walk; the step numbers in the comments are those of the privileged spec's §4.3.2
// algorithm, with LEVELS = 3 (Sv39) or 4 (Sv48) and PTESIZE = 8.
#include "mmu/riscv_walk.h"

namespace vmkit::rv64 {

namespace {

unsigned walk_levels(SatpMode mode) { return mode == SatpMode::Sv48 ? 4 : 3; }

uint32_t page_fault_cause(WalkAccess access) {
  switch (access) {
    case WalkAccess::Fetch: return cause::kFetchPageFault;
    case WalkAccess::Load: return cause::kLoadPageFault;
    case WalkAccess::Store: return cause::kStorePageFault;
  }
  return cause::kLoadPageFault;
}

uint32_t access_fault_cause(WalkAccess access) {
  switch (access) {
    case WalkAccess::Fetch: return cause::kFetchAccessFault;
    case WalkAccess::Load: return cause::kLoadAccessFault;
    case WalkAccess::Store: return cause::kStoreAccessFault;
  }
  return cause::kLoadAccessFault;
}

WalkResult fault(WalkStatus status, WalkAccess access) {
  WalkResult r;
  r.status = status;
  r.cause = status == WalkStatus::PageFault ? page_fault_cause(access) : access_fault_cause(access);
  return r;
}

// Step 6: may this privilege perform this access on this leaf?
bool leaf_permits(uint64_t leaf, const WalkRequest& req) {
  const bool user_page = leaf & pte::U;
  if (req.priv == WalkPriv::User) {
    if (!user_page) return false;  // S pages are never accessible from U
  } else if (user_page) {
    // S may never execute from a U page; loads and stores need SUM.
    if (req.access == WalkAccess::Fetch || !req.sum) return false;
  }
  switch (req.access) {
    case WalkAccess::Fetch: return leaf & pte::X;
    case WalkAccess::Load: return (leaf & pte::R) || (req.mxr && (leaf & pte::X));
    case WalkAccess::Store: return leaf & pte::W;
  }
  return false;
}

}  // namespace

unsigned va_bits(SatpMode mode) { return 12 + 9 * walk_levels(mode); }

WalkResult riscv_walk(PhysicalMemoryAccess& mem, const WalkRequest& req) {
  const unsigned levels = walk_levels(req.mode);
  const unsigned bits = va_bits(req.mode);
  // The VA must be the sign extension of its low `bits` bits (§4.4.1: "bits 63–39 must all equal
  // bit 38, or else a page-fault exception will occur").
  const int64_t sign_extended = static_cast<int64_t>(req.va << (64 - bits)) >> (64 - bits);
  if (static_cast<uint64_t>(sign_extended) != req.va) return fault(WalkStatus::PageFault, req.access);

  // Step 8 may find the PTE changed under it (another hart); the spec then restarts at step 2.
  for (;;) {
    uint64_t table = req.root_ppn << 12;  // step 1: a = satp.ppn × PAGESIZE
    bool global = false;
    int level = static_cast<int>(levels) - 1;
    uint64_t leaf = 0, leaf_addr = 0;
    for (;;) {
      // Step 2: pte = a + va.vpn[i] × PTESIZE; an unreadable PTE address is an access fault.
      const uint64_t vpn_i = (req.va >> (12 + 9 * level)) & 0x1ff;
      const uint64_t addr = table + vpn_i * 8;
      uint64_t entry;
      if (!mem.read64(addr, entry)) return fault(WalkStatus::AccessFault, req.access);
      // Step 3: invalid, write-without-read, or reserved bits set.
      if (!(entry & pte::V) || ((entry & pte::W) && !(entry & pte::R)) ||
          (entry & pte::kReservedHighBits))
        return fault(WalkStatus::PageFault, req.access);
      global |= (entry & pte::G) != 0;
      if (entry & (pte::R | pte::X)) {
        leaf = entry;
        leaf_addr = addr;
        break;
      }
      // Step 4: a pointer to the next level. D, A and U are reserved in non-leaf PTEs and must be
      // zero (the spec reserves them for future use; qemu faults, and so do we).
      if (entry & (pte::D | pte::A | pte::U)) return fault(WalkStatus::PageFault, req.access);
      if (--level < 0) return fault(WalkStatus::PageFault, req.access);
      table = ((entry >> pte::kPpnShift) & pte::kPpnMask) << 12;
    }

    // Step 5/6: a leaf; check the access against its permissions.
    if (!leaf_permits(leaf, req)) return fault(WalkStatus::PageFault, req.access);
    // Step 7: a superpage's PPN must be aligned to its size (ppn[i-1:0] == 0).
    const uint64_t ppn = (leaf >> pte::kPpnShift) & pte::kPpnMask;
    const uint64_t level_pages_mask = (1ull << (9 * level)) - 1;
    if (ppn & level_pages_mask) return fault(WalkStatus::PageFault, req.access);

    // Step 8: set A, and D for a store, atomically against the PTE as read.
    uint64_t updated = leaf | pte::A;
    if (req.access == WalkAccess::Store) updated |= pte::D;
    if (updated != leaf && !mem.cas64(leaf_addr, leaf, updated)) {
      uint64_t now;
      // Still the same value: the CAS failed because the PTE is not writable memory, which is
      // an access fault of the original access type (§4.3.2 step 8, "PMA/PMP check ... store").
      if (!mem.read64(leaf_addr, now) || now == leaf) return fault(WalkStatus::AccessFault, req.access);
      continue;  // someone changed the PTE: walk again
    }

    // Step 9: the physical address; a superpage takes its low PPN bits from the VA.
    WalkResult r;
    r.level = static_cast<unsigned>(level);
    const uint64_t offset_mask = (1ull << (12 + 9 * level)) - 1;
    r.pa = (ppn << 12) | (req.va & offset_mask);
    r.pte = updated;
    r.pte_addr = leaf_addr;
    r.global_mapping = global;
    return r;
  }
}

}  // namespace vmkit::rv64
