#pragma once
// Stream generators: an ideal Bernoulli source and an array of CBRAM devices (cbram/device.hpp).
//
// Word-parallel Bernoulli bits: 64 bits of probability P / 2^k come from k random 64-bit words w_j,
// bit l of word w_j being the complement of bit j of lane l's k-bit uniform U (the convention of the
// bit-serial recurrence below), and a comparator that outputs [U < P] per lane, i.e. exactly
// Bernoulli(P / 2^k). The comparator runs MSB first and stops early (compare_msb_first): a lane is
// decided at the first bit where U differs from P (U < P where P has the 1), so after j words a lane
// is still undecided with probability 2^-j, and all 64 lanes are decided after
// sum_j 1 - (1 - 2^-j)^64 = 7.35 words on average (k = 16) instead of 16; it also stops below P's
// lowest 1 bit (every lane still undecided there has U >= P), so P = 1/2 needs one word. For the same
// words it gives the same bits as the full LSB-first bit-serial comparison r <- P_j ? (r | w_j) :
// (r & w_j) (compare_lsb_first, the reference; tests/sc). The probability is quantized to 2^-k
// (|error| <= 2^-(k+1)); the default k = 16 keeps that below 8e-6, far under the 1/sqrt(L)
// statistical error of any stream shorter than 2^30 bits.
//
// Correlation is explicit: independent streams use independent random words (a separate device or
// random source per stream); shared streams compare one set of random words against several
// thresholds, the situation of one CBRAM cell read at several times during one pulse (or one LFSR
// feeding several comparators), which gives AND = min(pa, pb).
#include <cstdint>
#include <span>
#include <vector>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/cbram/switching.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/sc/stream.hpp"

namespace xbarkit::sc {

constexpr int kDefaultProbabilityBits = 16;

// round(p 2^bits) (halves away from zero, as std::llround), for p in [0, 1] and 1 <= bits <= 32;
// throws xbarkit::Error otherwise.
uint64_t quantize_probability(double p, int bits);
// The same without the checks, for the generators' inner loops (p in [0, 1] and bits valid).
inline uint64_t quantize_unchecked(double p, int bits) {
  const double x = p * static_cast<double>(uint64_t{1} << bits);  // exact: a power-of-two scaling
  const uint64_t t = static_cast<uint64_t>(x);                    // floor, x >= 0
  return t + (x - static_cast<double>(t) >= 0.5);                 // x - t is exact for x < 2^52
}
inline double quantized_value(double p, int bits) {
  return static_cast<double>(quantize_probability(p, bits)) / static_cast<double>(uint64_t{1} << bits);
}

// The comparator of 64 lanes of a k-bit uniform U (word_for_bit(j) returns the word holding the
// complement of bit j of every lane's U, 0 <= j < bits) against threshold P: bit l of the result is
// [U_l < P]. MSB first,
// stopping once every lane is decided or P has no 1 bit left; word_for_bit is called for bits
// bits-1, bits-2, ... down to where it stops, never twice. Branch-free in P's bits.
template <class WordForBit>
inline uint64_t compare_msb_first(uint64_t threshold, int bits, WordForBit&& word_for_bit) {
  if (threshold == 0) return 0;
  if (threshold >> bits) return ~uint64_t{0};
  const int low = __builtin_ctzll(threshold);
  uint64_t ones = 0, undecided = ~uint64_t{0};
  for (int j = bits - 1; j >= low; --j) {
    const uint64_t t = uint64_t{0} - ((threshold >> j) & 1u);  // all ones where P's bit j is 1
    const uint64_t decided = undecided & ~(word_for_bit(j) ^ t);  // lanes whose U bit (~w) differs from P's
    ones |= decided & t;                                        // U has 0 where P has 1: U < P
    undecided &= ~decided;
    if (!undecided) break;
  }
  return ones;  // lanes equal to P down to its lowest 1 bit have U >= P
}

// The full bit-serial comparison, LSB first (the generator before the MSB-first one; the reference the
// tests compare compare_msb_first with, word for word).
template <class WordForBit>
inline uint64_t compare_lsb_first(uint64_t threshold, int bits, WordForBit&& word_for_bit) {
  if (threshold == 0) return 0;
  if (threshold >> bits) return ~uint64_t{0};
  uint64_t r = 0;
  for (int j = __builtin_ctzll(threshold); j < bits; ++j) {
    const uint64_t w = word_for_bit(j);
    r = ((threshold >> j) & 1u) ? (r | w) : (r & w);
  }
  return r;
}

// 64 independent bits, each 1 with probability threshold / 2^bits (words drawn from rng MSB first).
inline uint64_t bernoulli_word(uint64_t threshold, int bits, Rng& rng) {
  return compare_msb_first(threshold, bits, [&](int) { return rng(); });
}

// Fills a stream's words with bits of probability threshold / 2^bits, tail zeroed (no checks). The
// constant streams (threshold 0 or 2^bits: every ±1 operand) take one branch and no random words.
inline void fill_threshold(uint64_t* words, size_t n_words, size_t length, uint64_t threshold, int bits, Rng& rng) {
  if ((threshold & ((uint64_t{1} << bits) - 1)) == 0) {
    const uint64_t c = uint64_t{0} - (threshold >> bits);  // 0 or all ones
    for (size_t w = 0; w < n_words; ++w) words[w] = c;
  } else {
    for (size_t w = 0; w < n_words; ++w) words[w] = bernoulli_word(threshold, bits, rng);
  }
  words[n_words - 1] &= tail_mask(length);
}

// An independent stream of `length` bits of probability p (quantized to 2^-bits) from rng.
void fill_bernoulli(std::span<uint64_t> words, size_t length, double p, int bits, Rng& rng);
Stream bernoulli_stream(double p, size_t length, Rng& rng, int bits = kDefaultProbabilityBits);

// Streams for several probabilities from ONE random source (maximally correlated, SCC = +1).
std::vector<Stream> shared_streams(std::span<const double> ps, size_t length, Rng& rng,
                                   int bits = kDefaultProbabilityBits);

// How the generator's controller chooses each device's pulse width.
enum class Calibration {
  nominal,     // from the device file's tau0 for every device: device variation becomes bias
  per_device,  // from each device's tau0 as measured by counting switches in calibration_trials
               // pulses at the nominal P_sw = 1/2 pulse: residual binomial error ~ 1/sqrt(trials)
};

struct CbramArrayOptions {
  size_t devices = 1;
  uint64_t seed = 1;                    // device-to-device draws and the calibration measurements
  Calibration calibration = Calibration::per_device;
  int64_t calibration_trials = 1000;
  int probability_bits = kDefaultProbabilityBits;
  // Pulse-width step of the driver (a counter of this period times the pulse); 0 = continuous. The
  // pulse asked for is rounded to the nearest step, so P_sw is off by up to (1 - p) step / (2 tau).
  double pulse_resolution_s = 0;
};

// An array of CBRAM cells, each a stream generator: to encode probability p, device i gets a SET
// pulse at the device's program voltage, of the width its calibration says gives P_sw = p (capped at
// max_pulse_s); its actual P_sw is the model's for its own tau0, so variation and calibration error
// stay in the streams.
class CbramStreamArray {
public:
  CbramStreamArray(const cbram::Device& device, const CbramArrayOptions& options);

  size_t size() const { return cells_.size(); }
  const cbram::Device& device() const { return device_; }
  const cbram::Cell& cell(size_t i) const { return cells_.at(i); }
  double calibrated_factor(size_t i) const { return calibrated_factor_.at(i); }
  // The pulse the driver applies to device i to ask for probability p (in [0, 1]).
  double pulse_s(size_t i, double p) const;
  // Device i's actual bit probability for a request p: the closed form of the device model, before
  // the 2^-bits quantization of the word generator.
  double device_probability(size_t i, double p) const;
  // The probability the generated bits actually have (device_probability, quantized).
  double bit_probability(size_t i, double p) const;
  // The comparator threshold of that probability, round(device_probability(i, p) 2^bits), without
  // the checks of the public calls (p in [0, 1], i < size()); requests of 0, 1/2 and 1 (every ±1
  // operand, every zero error or pixel) come from per-device values computed once.
  uint64_t threshold(size_t i, double p) const {
    if (p == 0) return 0;
    if (p == 1) return t_full_pulse_[i];
    if (p == 0.5) return t_half_[i];
    return quantize_unchecked(device_probability(i, p), options_.probability_bits);
  }
  // The closed form device_probability evaluates for requests p in (0, 1), with device i's constants,
  // for vector code that must reproduce threshold(i, p) exactly (stream_avx512.cpp):
  //     P = -expm1(-min(max_pulse_s, -tau_calibrated_s log1p(-p)) * inv_tau_cell_per_s).
  // Available when the pulse is continuous and tau0 has no cycle-to-cycle spread (otherwise P is the
  // general p_switch); has_closed_form() says which.
  struct ClosedForm {
    double max_pulse_s, tau_calibrated_s, inv_tau_cell_per_s;
  };
  bool has_closed_form() const { return device_.tau0_c2c_sigma_ln == 0 && options_.pulse_resolution_s == 0; }
  ClosedForm closed_form(size_t i) const { return {device_.max_pulse_s, tau_calibrated_[i], inv_tau_cell_[i]}; }
  uint64_t threshold_one(size_t i) const { return t_full_pulse_[i]; }  // threshold(i, 1)
  uint64_t threshold_half(size_t i) const { return t_half_[i]; }       // threshold(i, 1/2)
  int probability_bits() const { return options_.probability_bits; }

  // A stream of `length` bits from device i asked for p. With reset_failure_probability = 0 the bits
  // are independent Bernoulli(device_probability) -- exactly the law of the event-level cell (each
  // bit starts from a successful RESET, and a fresh Poisson waiting time) -- and are drawn word-
  // parallel; otherwise they are simulated bit by bit (cbram::Cell::bit), since a failed RESET
  // correlates a bit with the one before.
  void generate(size_t i, double p, size_t length, Rng& rng, std::span<uint64_t> words) const;
  Stream generate(size_t i, double p, size_t length, Rng& rng) const;
  // The bit-by-bit event simulation, always (tests compare it with generate()).
  Stream generate_events(size_t i, double p, size_t length, Rng& rng) const;
  // A value in an encoding (unipolar [0, 1], bipolar [-1, 1]) as a stream of device i.
  Stream encode(size_t i, double value, Encoding e, size_t length, Rng& rng) const {
    return generate(i, to_probability(value, e), length, rng);
  }
  // Several values from ONE device and one SET pulse per bit, read at the pulse widths each value
  // needs: bit k of value j is [T_k < t_j] for the bit's one waiting time T_k, so the streams are
  // nested (SCC = +1; AND gives the smaller probability). Independent streams need separate devices.
  std::vector<Stream> generate_shared(size_t i, std::span<const double> ps, size_t length, Rng& rng) const;

private:
  cbram::Device device_;
  CbramArrayOptions options_;
  std::vector<cbram::Cell> cells_;
  std::vector<double> calibrated_factor_;
  std::vector<double> tau_calibrated_, inv_tau_cell_;  // at the program voltage, for device_probability
  std::vector<double> p_full_pulse_;  // device_probability(i, 1): the capped pulse (±1 operands hit it)
  std::vector<uint64_t> t_full_pulse_, t_half_;  // their comparator thresholds
};

}  // namespace xbarkit::sc
