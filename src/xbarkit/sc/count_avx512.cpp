// AVX-512 build of the SC update's XNOR-popcount counting (update.cpp), chosen at run time when the
// CPU has AVX-512 with VPOPCNTQ (Ice Lake, Zen 4 and later): eight words per vector, the population
// count of each 64-bit lane in one instruction and summed straight into 64-bit accumulators, so none
// of the AVX2 kernel's byte-count flushes (count_avx2.cpp). A 4 x 4 register tile (16 accumulators and
// 8 operands of the 32 vector registers) reads 8 vectors per 16 products. Integer sums: identical to
// the portable kernel bit for bit (tests/sc).
//
// Compiled for the baseline ISA with the AVX-512 code in target-attributed functions (as
// stream_avx512.cpp), so that the rest of the program never links AVX-512 instructions by accident.
#include "xbarkit/sc/count_kernel.hpp"

#include <bit>
#include <cstdlib>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XBARKIT_AVX512_POPCNT __attribute__((target("avx512f,avx512vpopcntdq")))
#endif

namespace xbarkit::sc::detail {

#if defined(__x86_64__) && defined(__GNUC__)

bool have_avx512_count() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
  return ok;
}

// GCC 12's intrinsics warn of their own undefined operands (kept to this file: unity build).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

constexpr int TR = 4, TC = 4;

// ones[i][j] = sum_k popcount(~(g_i[k] ^ a_j[k])), k < K, for R x C streams; the last K % 8 words by
// masked loads (zeros beyond K add no XOR ones).
template <int R, int C>
XBARKIT_AVX512_POPCNT inline void tile(const uint64_t* const* g, const uint64_t* const* a, size_t K, uint64_t* out) {
  __m512i acc[R][C];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) acc[i][j] = _mm512_setzero_si512();
  for (size_t k = 0; k < K; k += 8) {
    const __mmask8 m = K - k >= 8 ? __mmask8(0xff) : static_cast<__mmask8>((1u << (K - k)) - 1);
    __m512i gv[R], av[C];
    for (int i = 0; i < R; ++i) gv[i] = _mm512_maskz_loadu_epi64(m, g[i] + k);
    for (int j = 0; j < C; ++j) av[j] = _mm512_maskz_loadu_epi64(m, a[j] + k);
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j)
        acc[i][j] = _mm512_add_epi64(acc[i][j], _mm512_popcnt_epi64(_mm512_xor_si512(gv[i], av[j])));
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j)
      out[i * C + j] = 64 * K - static_cast<uint64_t>(_mm512_reduce_add_epi64(acc[i][j]));  // XNOR = bits - XOR
}

template <int R>
XBARKIT_AVX512_POPCNT void rows_tile(const uint64_t* Gt, const uint64_t* At, size_t r, size_t cols, size_t K,
                                     uint64_t* counts) {
  const uint64_t* g[R];
  for (int i = 0; i < R; ++i) g[i] = Gt + (r + i) * K;
  size_t c = 0;
  for (; c + TC <= cols; c += TC) {
    const uint64_t* a[TC];
    for (int j = 0; j < TC; ++j) a[j] = At + (c + j) * K;
    uint64_t t[R * TC];
    tile<R, TC>(g, a, K, t);
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < TC; ++j) counts[(r + i) * cols + c + j] += t[i * TC + j];
  }
  for (; c < cols; ++c) {
    const uint64_t* a[1] = {At + c * K};
    uint64_t t[R];
    tile<R, 1>(g, a, K, t);
    for (int i = 0; i < R; ++i) counts[(r + i) * cols + c] += t[i];
  }
}

}  // namespace

#pragma GCC diagnostic pop

void count_rows_avx512(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K,
                       uint64_t* counts) {
  size_t r = r0;
  for (; r + TR <= r1; r += TR) rows_tile<TR>(Gt, At, r, cols, K, counts);
  for (; r < r1; ++r) rows_tile<1>(Gt, At, r, cols, K, counts);
}

#else

bool have_avx512_count() { return false; }
void count_rows_avx512(const uint64_t*, const uint64_t*, size_t, size_t, size_t, size_t, uint64_t*) {
  std::abort();  // unreachable: callers check have_avx512_count(), false on this architecture
}

#endif

}  // namespace xbarkit::sc::detail
