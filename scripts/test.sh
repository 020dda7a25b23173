#!/usr/bin/env bash
# The full test suite: sets up a fresh machine (scripts/setup.sh), then runs
#   1. the GoogleTest suite (tests/cpp), built with -Werror;
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the fuzz targets (libFuzzer: decoder, and lifted / optimised / compiled execution) for a fixed time;
#   4. the pytest suite (tests/python) against qemu-riscv64 and Debian's busybox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${PYTHON:-python3}
JOBS=${JOBS:-2}

echo "== C++ unit tests"
# The Google Benchmark micro-benchmarks (bench/cpp) are built here too, so they keep compiling;
# they measure time, so they are run by hand, not by the tests.
cmake -S . -B build/tests -G Ninja -DCMAKE_BUILD_TYPE=Release -DVMKIT_BUILD_PYTHON=OFF \
  -DVMKIT_BUILD_TESTS=ON -DVMKIT_BUILD_BENCH=ON -DVMKIT_WERROR=ON >/dev/null
ninja -C build/tests -j"$JOBS" vmkit_tests vmkit_bench
build/tests/vmkit_tests --gtest_brief=1
echo "== the same with every block compiled by tier 1 (the JIT must meet the interpreter's expectations)"
VMKIT_TEST_ENGINE=jit build/tests/vmkit_tests --gtest_brief=1

echo "== C++ unit tests under ASan + UBSan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVMKIT_BUILD_PYTHON=OFF \
  -DVMKIT_BUILD_TESTS=ON -DVMKIT_WERROR=ON -DVMKIT_SANITIZE=address,undefined >/dev/null
ninja -C build/asan -j"$JOBS" vmkit_tests
# The guest-fault tests deliberately take host SIGSEGVs inside the guest reservation; ASan must
# let vmkit's own handler see them.
ASAN_OPTIONS=handle_segv=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build/asan/vmkit_tests --gtest_brief=1
VMKIT_TEST_ENGINE=jit ASAN_OPTIONS=handle_segv=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build/asan/vmkit_tests --gtest_brief=1

echo "== fuzzing (libFuzzer, ${FUZZ_SECONDS:-30} s per target)"
# fuzz_<arch>_decoder: every input must lift to IR the verifier accepts, before and after the
# optimiser. fuzz_<arch>_execute: the input runs as code three times, as lifted, as optimised and as
# compiled by the JIT, and all runs must end in the same state.
FUZZ_TARGETS="fuzz_rv64_decoder fuzz_rv64_execute fuzz_a64_decoder fuzz_a64_execute fuzz_x64_decoder fuzz_x64_execute"
CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVMKIT_BUILD_PYTHON=OFF \
  -DVMKIT_BUILD_FUZZ=ON >/dev/null
ninja -C build/fuzz -j"$JOBS" $FUZZ_TARGETS
for target in $FUZZ_TARGETS; do
  mkdir -p "build/fuzz/corpus-$target"
  echo "-- $target"
  build/fuzz/$target -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=1 "build/fuzz/corpus-$target" 2>&1 | tail -n 5
done

echo "== Python tests"
"$PY" -m pytest -q tests/python
