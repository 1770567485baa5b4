#pragma once
// The counting step of the SC update kernel (update.cpp): counter (r, c) += sum_k popcount(~(Gt[r][k]
// ^ At[c][k])) over k < K, for rows [r0, r1) and every column, streams stored sample-major per row
// (Gt: K words per row) and per column (At). Three builds of the same integer sums, chosen at run time
// by count_rows(): AVX-512 with VPOPCNTQ (count_avx512.cpp), AVX2 (count_avx2.cpp) and portable (the
// C++ loop of update.cpp, compiled with the POPCNT instruction where the CPU has it).
// Internal to the sc module.
#include <cstddef>
#include <cstdint>

namespace xbarkit::sc::detail {

enum class CountKernel { automatic, avx512, avx2, portable };

// The kernel count_rows() uses for `automatic`: the widest the CPU runs, or the one the environment
// variable XBARKIT_SC_COUNT (avx512, avx2 or portable) names.
CountKernel best_count_kernel();
bool have_count_kernel(CountKernel k);

void count_rows(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K, uint64_t* counts,
                CountKernel kernel = CountKernel::automatic);

bool have_avx512_count();
void count_rows_avx512(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K,
                       uint64_t* counts);
#if defined(XBARKIT_SC_HAVE_AVX2_KERNEL)
void count_rows_avx2(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K,
                     uint64_t* counts);
#endif

}  // namespace xbarkit::sc::detail
