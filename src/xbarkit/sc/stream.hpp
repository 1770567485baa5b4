#pragma once
// Stochastic bit streams and SC arithmetic (Gaines 1969; Alaghi & Hayes 2013: docs/REFERENCES.md §21).
//
// A stream of length L carries a value in the fraction of its ones: unipolar x = P(bit) in [0, 1],
// bipolar x = 2 P(bit) - 1 in [-1, 1]. Bits are packed 64 per word (bit k of the stream is bit k % 64
// of word k / 64); bits past L in the last word are always 0, so a popcount over the words counts the
// stream. With independent streams:
//   AND   multiplies unipolar values        P = pa pb
//   XNOR  multiplies bipolar values         x = xa xb
//   MUX   scaled addition (select s = 1/2)  P = (pa + pb) / 2
// With correlated streams (one random source compared against both values) AND gives min(pa, pb),
// so AND of a stream with itself gives p, not p^2 (Alaghi & Hayes' SCC = +1 case).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace xbarkit::sc {

enum class Encoding { unipolar, bipolar };

// Value -> bit probability; throws xbarkit::Error naming the value when it is outside [0, 1]
// (unipolar) or [-1, 1] (bipolar), or not finite.
double to_probability(double value, Encoding e);
// Bit probability (e.g. count / L) -> value.
inline double from_probability(double p, Encoding e) { return e == Encoding::unipolar ? p : 2 * p - 1; }

inline size_t words_for(size_t length) { return (length + 63) / 64; }
// Mask of the valid bits of the last word of a stream of `length` bits.
inline uint64_t tail_mask(size_t length) { return length % 64 ? (uint64_t{1} << (length % 64)) - 1 : ~uint64_t{0}; }

struct Stream {
  size_t length = 0;
  std::vector<uint64_t> words;

  Stream() = default;
  explicit Stream(size_t length_bits) : length(length_bits), words(words_for(length_bits), 0) {}
  bool bit(size_t k) const { return (words[k / 64] >> (k % 64)) & 1u; }
  void set_bit(size_t k, bool v) {
    if (v) words[k / 64] |= uint64_t{1} << (k % 64);
    else words[k / 64] &= ~(uint64_t{1} << (k % 64));
  }
  // The counter back to binary: number of ones.
  size_t count() const {
    size_t c = 0;
    for (uint64_t w : words) c += static_cast<size_t>(std::popcount(w));
    return c;
  }
  double probability() const { return length ? static_cast<double>(count()) / static_cast<double>(length) : 0.0; }
  double value(Encoding e) const { return from_probability(probability(), e); }
};

// Bitwise SC gates (both operands of equal length; throws otherwise). The tail stays zero.
Stream sc_and(const Stream& a, const Stream& b);
Stream sc_xnor(const Stream& a, const Stream& b);
Stream sc_not(const Stream& a);
// Multiplexer: bit from a where sel is 0, from b where sel is 1. With sel of probability 1/2,
// independent of a and b, P = (pa + pb) / 2 in both encodings.
Stream sc_mux(const Stream& a, const Stream& b, const Stream& sel);

// An up-counter of stream bits, the SC-to-binary converter of an accumulation: adds the ones of
// streams (of any lengths) and reports the count and the estimate over all bits added.
class Counter {
public:
  void add(const Stream& s) {
    ones_ += s.count();
    bits_ += s.length;
  }
  uint64_t ones() const { return ones_; }
  uint64_t bits() const { return bits_; }
  double probability() const { return bits_ ? static_cast<double>(ones_) / static_cast<double>(bits_) : 0.0; }
  double value(Encoding e) const { return from_probability(probability(), e); }

private:
  uint64_t ones_ = 0, bits_ = 0;
};

// Stochastic cross-correlation of two streams (Alaghi & Hayes 2013, Eq. 1): +1 maximal overlap,
// 0 independent, -1 minimal overlap. 0 when either stream is constant.
double scc(const Stream& a, const Stream& b);

}  // namespace xbarkit::sc
