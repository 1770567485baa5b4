// AVX-512 build of the SC update's stream maker (stream_kernel.hpp): eight samples side by side, each
// in one 64-bit lane with its own xoshiro256** state (Blackman & Vigna, "Scrambled linear pseudorandom
// number generators", ACM TOMS 47(4), 2021), running the MSB-first comparator of source.hpp. A lane
// draws a word exactly when the scalar loop would (its threshold still has a 1 bit at or below the
// current bit and some of its 64 bits are undecided): the other lanes' states are held by the write
// masks, so each lane's generator advances as it would alone and the streams are the portable loop's
// bit for bit (tests/sc compares them). The gain is not only width: the scalar loop's exit after a
// random number of words mispredicts once per stream; here once per eight.
//
// Compiled for the baseline ISA with the AVX-512 code in target-attributed functions, so that no
// inline function this file instantiates (CbramStreamArray::threshold, ...) is emitted with AVX-512
// instructions for the rest of the program to link against.
#include "xbarkit/sc/stream_kernel.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define XBARKIT_AVX512 __attribute__((target("avx512f,avx512dq,avx512cd,avx512vl")))
#endif

namespace xbarkit::sc::detail {

#if defined(__x86_64__) && defined(__GNUC__)

namespace {

// XBARKIT_SC_GENERIC_STREAMS set to anything but "0" starts the process on the portable maker.
std::atomic<bool> portable_forced{[] {
  const char* e = std::getenv("XBARKIT_SC_GENERIC_STREAMS");
  return e && std::string(e) != "0";
}()};

}  // namespace

void use_portable_streams(bool on) { portable_forced = on; }

bool have_avx512_streams() {
  static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vl");
  return cpu && !portable_forced;
}

// GCC 12's AVX-512 intrinsics warn of their own _mm512_undefined operands (kept to this file: the
// module's unity build puts other files in the same translation unit).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

struct Xoshiro8 {
  __m512i s0, s1, s2, s3;
};

// One xoshiro256** step (core/rng.hpp) in the lanes of `live`; the other lanes keep their state.
XBARKIT_AVX512 inline __m512i next_word(Xoshiro8& r, __mmask8 live) {
  const __m512i x5 = _mm512_add_epi64(r.s1, _mm512_slli_epi64(r.s1, 2));  // s1 * 5
  const __m512i rot = _mm512_rol_epi64(x5, 7);
  const __m512i result = _mm512_add_epi64(rot, _mm512_slli_epi64(rot, 3));  // * 9
  const __m512i t = _mm512_slli_epi64(r.s1, 17);
  const __m512i s2 = _mm512_xor_si512(r.s2, r.s0);
  const __m512i s3 = _mm512_xor_si512(r.s3, r.s1);
  const __m512i s1 = _mm512_xor_si512(r.s1, s2);
  const __m512i s0 = _mm512_xor_si512(r.s0, s3);
  r.s0 = _mm512_mask_mov_epi64(r.s0, live, s0);
  r.s1 = _mm512_mask_mov_epi64(r.s1, live, s1);
  r.s2 = _mm512_mask_mov_epi64(r.s2, live, _mm512_xor_si512(s2, t));
  r.s3 = _mm512_mask_mov_epi64(r.s3, live, _mm512_rol_epi64(s3, 45));
  return result;
}

// One word per lane of bits with probability t / 2^bits: compare_msb_first (source.hpp) in each lane.
XBARKIT_AVX512 inline __m512i bernoulli_words(Xoshiro8& r, __m512i t, int bits) {
  const __m512i zero = _mm512_setzero_si512(), all = _mm512_set1_epi64(-1);
  const __m512i full_mask = _mm512_set1_epi64(static_cast<long long>((uint64_t{1} << bits) - 1));
  // Lanes whose threshold is 0 or 2^bits are constant and draw nothing (fill_threshold).
  __mmask8 live = _mm512_test_epi64_mask(t, full_mask);
  const __m512i constant = _mm512_sub_epi64(zero, _mm512_srlv_epi64(t, _mm512_set1_epi64(bits)));
  // Lowest 1 bit of each threshold: 63 - lzcnt(t & -t).
  const __m512i low = _mm512_sub_epi64(_mm512_set1_epi64(63),
                                       _mm512_lzcnt_epi64(_mm512_and_si512(t, _mm512_sub_epi64(zero, t))));
  __m512i ones = zero, undecided = all;
  for (int j = bits - 1; j >= 0; --j) {
    live = _mm512_mask_cmple_epi64_mask(live, low, _mm512_set1_epi64(j));
    if (!live) break;
    const __m512i w = next_word(r, live);
    const __m512i tb = _mm512_maskz_mov_epi64(_mm512_test_epi64_mask(t, _mm512_set1_epi64(int64_t{1} << j)), all);
    const __m512i decided = _mm512_andnot_si512(_mm512_xor_si512(w, tb), undecided);
    ones = _mm512_mask_or_epi64(ones, live, ones, _mm512_and_si512(decided, tb));
    undecided = _mm512_mask_andnot_epi64(undecided, live, decided, undecided);
    live = _mm512_mask_test_epi64_mask(live, undecided, undecided);
  }
  return _mm512_mask_blend_epi64(_mm512_test_epi64_mask(t, full_mask), constant, ones);
}

#if defined(XBARKIT_SC_HAVE_LIBMVEC)
// glibc's vector math library (libmvec), AVX-512 variants; documented accuracy within 4 ulp.
extern "C" XBARKIT_AVX512 __m512d _ZGVeN8v_log1p(__m512d);
extern "C" XBARKIT_AVX512 __m512d _ZGVeN8v_expm1(__m512d);
#endif

// round(x) as quantize_unchecked does it, x in [0, 2^bits]: floor, plus one if the remainder >= 1/2.
XBARKIT_AVX512 inline __m512i round_half_up(__m512d x) {
  const __m512i t = _mm512_cvttpd_epu64(x);
  const __mmask8 up = _mm512_cmp_pd_mask(_mm512_sub_pd(x, _mm512_cvtepu64_pd(t)), _mm512_set1_pd(0.5), _CMP_GE_OQ);
  return _mm512_mask_add_epi64(t, up, t, _mm512_set1_epi64(1));
}

// The thresholds of the eight lanes' operands a = sign[k] v[k][i] on generator i, scale s: exactly
// operand_threshold (stream_kernel.hpp) in every lane. The classification (ends, zero, general) and
// the ideal source's quantization are exact in vector arithmetic. A CBRAM device's P_sw closed form
// runs on libmvec's log1p and expm1 (each within 4 ulp of the true value; libm's scalar calls that
// CbramStreamArray::threshold makes are within 1-2 ulp, so the two differ by at most ~6 ulp each);
// carried through the closed form that moves P by less than 2^-48 (|dP| <= z e^-z |dz| + 4 ulp(P), z e^-z <= 1/e, and two more roundings), i.e. P 2^16
// by less than 2^-32. A lane whose P 2^16 lies within 1e-8 of a rounding boundary (x.5) -- about two
// requests in 10^8 -- is recomputed by the scalar call, so every threshold equals the scalar one.
template <bool Ideal>
XBARKIT_AVX512 inline __m512i lane_thresholds(const CbramStreamArray* devices, size_t i, const float* const* v,
                                              __m512d sign, double s, int bits) {
  // The eight samples' operands, assembled in registers from their rows.
  const __m256 f = _mm256_setr_ps(v[0][i], v[1][i], v[2][i], v[3][i], v[4][i], v[5][i], v[6][i], v[7][i]);
  const __m512d a = _mm512_mul_pd(sign, _mm512_cvtps_pd(f));  // exact: float to double, times ±1
  const __m512d sv = _mm512_set1_pd(s), zero = _mm512_setzero_pd();
  const __mmask8 ends = _mm512_cmp_pd_mask(_mm512_abs_pd(a), sv, _CMP_EQ_OQ);
  const __mmask8 positive = _mm512_cmp_pd_mask(a, zero, _CMP_GT_OQ);
  const __mmask8 zeros = _mm512_cmp_pd_mask(a, zero, _CMP_EQ_OQ) & ~ends;
  const __mmask8 general = static_cast<__mmask8>(~(ends | zeros));
  uint64_t one = Ideal ? uint64_t{1} << bits : devices->threshold_one(i);
  uint64_t half = Ideal ? uint64_t{1} << (bits - 1) : devices->threshold_half(i);
  // Plain loads into registers, then register broadcasts. Left to itself GCC folds each broadcast
  // below into a masked load (vpbroadcastq mem, zmm{k}); the half-threshold's mask (zero operands)
  // is all-zero in nearly every group of a binary layer, so that table was read only by masked
  // loads that load nothing. In long trainings on the 2-core AMD EPYC VM those loads turned slow
  // after a minute or two and doubled the time per batch of a CNN; moving the tables to freshly
  // written memory, or reading them once with ordinary loads, made them fast again
  // (docs/PERFORMANCE.md, "Long runs"). An empty asm that claims to change the values keeps them in
  // registers; after a compiler change, check with objdump that no masked broadcast load came back.
  asm("" : "+r"(one), "+r"(half));
  __m512i t = _mm512_maskz_mov_epi64(ends & positive, _mm512_set1_epi64(static_cast<long long>(one)));
  t = _mm512_mask_mov_epi64(t, zeros, _mm512_set1_epi64(static_cast<long long>(half)));
  if (!general) return t;
  const __m512d p = _mm512_mul_pd(_mm512_set1_pd(0.5), _mm512_add_pd(_mm512_div_pd(a, sv), _mm512_set1_pd(1.0)));
  const __m512d scale = _mm512_set1_pd(static_cast<double>(uint64_t{1} << bits));
  if constexpr (Ideal) {
    return _mm512_mask_mov_epi64(t, general, round_half_up(_mm512_mul_pd(p, scale)));
  } else {
    __mmask8 scalar = general;
#if defined(XBARKIT_SC_HAVE_LIBMVEC)
    if (devices->has_closed_form()) {
      const auto cf = devices->closed_form(i);
      // The requests the scalar call answers from its per-device table (0, 1/2, 1) stay scalar.
      const __mmask8 table = _mm512_cmp_pd_mask(p, zero, _CMP_EQ_OQ) |
                             _mm512_cmp_pd_mask(p, _mm512_set1_pd(0.5), _CMP_EQ_OQ) |
                             _mm512_cmp_pd_mask(p, _mm512_set1_pd(1.0), _CMP_EQ_OQ);
      const __m512d y = _ZGVeN8v_log1p(_mm512_sub_pd(zero, p));
      const __m512d pulse = _mm512_min_pd(_mm512_set1_pd(cf.max_pulse_s), _mm512_mul_pd(_mm512_set1_pd(-cf.tau_calibrated_s), y));
      const __m512d P = _mm512_sub_pd(zero, _ZGVeN8v_expm1(_mm512_mul_pd(_mm512_sub_pd(zero, pulse), _mm512_set1_pd(cf.inv_tau_cell_per_s))));
      const __m512d x = _mm512_mul_pd(P, scale);
      const __m512d frac = _mm512_sub_pd(x, _mm512_roundscale_pd(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
      const __mmask8 near_half =
          _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(frac, _mm512_set1_pd(0.5))), _mm512_set1_pd(1e-8), _CMP_LT_OQ);
      const __mmask8 vector = general & static_cast<__mmask8>(~(table | near_half));
      t = _mm512_mask_mov_epi64(t, vector, round_half_up(x));
      scalar = general & static_cast<__mmask8>(~vector);
    }
#endif
    if (scalar) {
      alignas(64) uint64_t t8[kStreamLanes];
      alignas(64) double p8[kStreamLanes];
      _mm512_store_si512(t8, t);
      _mm512_store_pd(p8, p);
      for (size_t k = 0; k < kStreamLanes; ++k)
        if (scalar >> k & 1) t8[k] = devices->threshold(i, p8[k]);
      t = _mm512_load_si512(t8);
    }
    return t;
  }
}

template <bool Ideal>
XBARKIT_AVX512 void make_x8(const CbramStreamArray* devices, const float* const* v, const double* sign, size_t n,
                            const double* scale, uint64_t (*state)[kStreamLanes], uint64_t* out, size_t stride,
                            size_t W, size_t L, int bits) {
  Xoshiro8 r{_mm512_loadu_si512(state[0]), _mm512_loadu_si512(state[1]), _mm512_loadu_si512(state[2]),
             _mm512_loadu_si512(state[3])};
  const __m512i tail = _mm512_set1_epi64(static_cast<long long>(L % 64 ? (uint64_t{1} << (L % 64)) - 1 : ~uint64_t{0}));
  alignas(64) uint64_t words[kStreamLanes];
  const __m512d sign8 = _mm512_loadu_pd(sign);
  for (size_t i = 0; i < n; ++i) {
    const __m512i tv = lane_thresholds<Ideal>(devices, i, v, sign8, scale[i], bits);
    uint64_t* o = out + i * stride;
    for (size_t w = 0; w < W; ++w) {
      __m512i x = bernoulli_words(r, tv, bits);
      if (w + 1 == W) x = _mm512_and_si512(x, tail);
      if (W == 1) {
        _mm512_storeu_si512(o, x);  // the eight samples' words are adjacent
      } else {
        _mm512_store_si512(words, x);
        for (size_t k = 0; k < kStreamLanes; ++k) o[k * W + w] = words[k];
      }
    }
  }
  _mm512_storeu_si512(state[0], r.s0);
  _mm512_storeu_si512(state[1], r.s1);
  _mm512_storeu_si512(state[2], r.s2);
  _mm512_storeu_si512(state[3], r.s3);
}

}  // namespace

#pragma GCC diagnostic pop

void make_streams_x8_avx512(const CbramStreamArray* devices, const float* const* v, const double* sign, size_t n,
                            const double* scale, uint64_t (*state)[kStreamLanes], uint64_t* out, size_t stride,
                            size_t W, size_t L, int bits) {
  if (devices) make_x8<false>(devices, v, sign, n, scale, state, out, stride, W, L, bits);
  else make_x8<true>(devices, v, sign, n, scale, state, out, stride, W, L, bits);
}

#else

void use_portable_streams(bool) {}
bool have_avx512_streams() { return false; }
void make_streams_x8_avx512(const CbramStreamArray*, const float* const*, const double*, size_t, const double*,
                            uint64_t (*)[kStreamLanes], uint64_t*, size_t, size_t, size_t, int) {
  std::abort();  // unreachable: callers check have_avx512_streams(), false on this architecture
}

#endif

}  // namespace xbarkit::sc::detail
