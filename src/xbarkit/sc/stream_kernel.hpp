#pragma once
// The stream-making step of the SC update kernel (update.cpp), shared by its portable loop (one
// sample at a time) and its AVX-512 build (stream_avx512.cpp: eight samples at a time, one per vector
// lane). Both give the same words bit for bit: each sample's streams come from that sample's own
// generator, consumed in the same order, so the lanes only run the scalar recurrence side by side.
// Internal to the sc module.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/sc/source.hpp"

namespace xbarkit::sc::detail {

// The comparator threshold of operand a encoded with scale s (|a| <= s) on generator i: the request
// p = (1 + a / s) / 2, through device i's P_sw for CBRAM (CbramStreamArray::threshold), quantized.
// The operands at the ends and at zero (every ±1 activation, every zero error or pixel) need no
// division: a = ±s gives a / s = ±1 exactly, hence p = 1 or 0, and a = 0 gives p = 1/2, so the
// thresholds are the same as through the general expression.
template <bool Ideal>
inline uint64_t operand_threshold(const CbramStreamArray* devices, size_t i, double a, double s, int bits) {
  if (std::fabs(a) == s) return a > 0 ? (Ideal ? uint64_t{1} << bits : devices->threshold_one(i)) : 0;
  if (a == 0) return Ideal ? uint64_t{1} << (bits - 1) : devices->threshold_half(i);
  const double p = 0.5 * (a / s + 1);
  return Ideal ? quantize_unchecked(p, bits) : devices->threshold(i, p);
}

// The streams of one sample's n operands v[i] times sign, each divided by scale[i], from generator
// i of `devices` (nullptr: the ideal source), comparator words from rng (advanced): stream i at
// out + i * stride, W words, tail beyond L zeroed. The portable stream maker (update.cpp).
void make_streams_portable(const CbramStreamArray* devices, const float* v, double sign, size_t n, const double* scale,
                           Rng& rng, uint64_t* out, size_t stride, size_t W, size_t L, int bits);

// Lanes of the vector stream maker.
constexpr size_t kStreamLanes = 8;

// True when the update kernel takes the AVX-512 stream maker: the CPU runs it and the portable one is
// not forced. use_portable_streams(true) forces the portable maker (tests compare the two through
// ScOuterProduct::compute); so does XBARKIT_SC_GENERIC_STREAMS set to anything but 0 at start-up.
bool have_avx512_streams();
void use_portable_streams(bool on);

// The streams of n operands of eight samples at once: lane k's operands are v[k][0..n), multiplied by
// sign[k], each divided by scale[i]; its comparator words come from the xoshiro256** generator whose
// state is (state[0][k], ..., state[3][k]) and which is advanced in place. Stream i of lane k is
// written at out + i * stride + k * W (W words, tail beyond L zeroed): exactly the words the portable
// loop writes for that sample from a generator in the same state. devices == nullptr: ideal source.
void make_streams_x8_avx512(const CbramStreamArray* devices, const float* const* v, const double* sign, size_t n,
                            const double* scale, uint64_t (*state)[kStreamLanes], uint64_t* out, size_t stride,
                            size_t W, size_t L, int bits);

}  // namespace xbarkit::sc::detail
