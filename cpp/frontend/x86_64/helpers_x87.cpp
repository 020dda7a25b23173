#include "frontend/x86_64/helpers.h"
#include "frontend/x86_64/state.h"
