// Block-local IR optimisations, run on every block before it is cached. They only ever remove
// work: the optimised block has the same effect on guest state and memory, and the same precise
// state at every instruction that can fault or call out.
#pragma once

#include "ir/ir.h"

namespace vmkit::ir {

struct PassStats {
  unsigned gets_forwarded = 0;
  unsigned puts_removed = 0;
  unsigned folded = 0;
  unsigned dead_removed = 0;
  unsigned cse = 0;
};

// get forwarding (a state value already read or written in the block is reused), removal of a
// put overwritten before anything could observe it, constant folding and algebraic identities
// (x+0, x|0, x^0, x<<0 ...) including width changes of constants and trunc(ext(x)) = x,
// common-subexpression elimination of pure ops, then dead-code elimination.
PassStats optimize(Block& b);

}  // namespace vmkit::ir
