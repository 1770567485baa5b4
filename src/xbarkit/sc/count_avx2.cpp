// AVX2 build of the SC update's XNOR-popcount counting (update.cpp), chosen at run time when the CPU
// has AVX2. Popcount of 256-bit words by nibble table lookup (vpshufb; Mula, Kurz & Lemire, "Faster
// population counts using AVX2 instructions", Computer Journal 61(1), 2018: docs/REFERENCES.md §21),
// byte counts accumulated for up to 31 steps (31 x 8 = 248 < 256) and then summed into 64-bit lanes
// (vpsadbw). Integer sums: identical to the scalar kernel bit for bit.
#if defined(XBARKIT_SC_HAVE_AVX2_KERNEL)
#include "xbarkit/sc/count_kernel.hpp"

#include <immintrin.h>

#include <bit>
#include <cstddef>
#include <cstdint>

namespace xbarkit::sc::detail {

namespace {

constexpr int TR = 2, TC = 4;

inline __m256i popcount_bytes(__m256i v, __m256i lut, __m256i low) {
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

inline uint64_t hsum(__m256i v) {
  return static_cast<uint64_t>(_mm256_extract_epi64(v, 0)) + static_cast<uint64_t>(_mm256_extract_epi64(v, 1)) +
         static_cast<uint64_t>(_mm256_extract_epi64(v, 2)) + static_cast<uint64_t>(_mm256_extract_epi64(v, 3));
}

// ones[i][j] = sum_k popcount(~(g_i[k] ^ a_j[k])), k < K, for R x C streams.
template <int R, int C>
inline void tile(const uint64_t* const* g, const uint64_t* const* a, size_t K, uint64_t* out) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2,
                                       3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  __m256i wide[R][C];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) wide[i][j] = zero;
  const size_t chunks = K / 4;
  size_t k = 0;
  for (size_t c0 = 0; c0 < chunks; c0 += 31) {
    const size_t c1 = c0 + 31 < chunks ? c0 + 31 : chunks;
    __m256i bytes[R][C];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) bytes[i][j] = zero;
    for (size_t c = c0; c < c1; ++c, k += 4) {
      __m256i gv[R], av[C];
      for (int i = 0; i < R; ++i) gv[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g[i] + k));
      for (int j = 0; j < C; ++j) av[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[j] + k));
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < C; ++j)
          bytes[i][j] = _mm256_add_epi8(bytes[i][j], popcount_bytes(_mm256_xor_si256(gv[i], av[j]), lut, low));
    }
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) wide[i][j] = _mm256_add_epi64(wide[i][j], _mm256_sad_epu8(bytes[i][j], zero));
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      uint64_t differ = hsum(wide[i][j]);
      for (size_t kk = k; kk < K; ++kk) differ += static_cast<uint64_t>(std::popcount(g[i][kk] ^ a[j][kk]));
      out[i * C + j] = 64 * K - differ;  // XNOR ones = bits - XOR ones
    }
}

}  // namespace

void count_rows_avx2(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K,
                     uint64_t* counts) {
  size_t r = r0;
  for (; r + TR <= r1; r += TR) {
    const uint64_t* g[TR];
    for (int i = 0; i < TR; ++i) g[i] = Gt + (r + i) * K;
    size_t c = 0;
    for (; c + TC <= cols; c += TC) {
      const uint64_t* a[TC];
      for (int j = 0; j < TC; ++j) a[j] = At + (c + j) * K;
      uint64_t t[TR * TC];
      tile<TR, TC>(g, a, K, t);
      for (int i = 0; i < TR; ++i)
        for (int j = 0; j < TC; ++j) counts[(r + i) * cols + c + j] += t[i * TC + j];
    }
    for (; c < cols; ++c) {
      const uint64_t* a[1] = {At + c * K};
      uint64_t t[TR];
      tile<TR, 1>(g, a, K, t);
      for (int i = 0; i < TR; ++i) counts[(r + i) * cols + c] += t[i];
    }
  }
  for (; r < r1; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const uint64_t* g[1] = {Gt + r * K};
      const uint64_t* a[1] = {At + c * K};
      uint64_t t;
      tile<1, 1>(g, a, K, &t);
      counts[r * cols + c] += t;
    }
}

}  // namespace xbarkit::sc::detail
#endif
