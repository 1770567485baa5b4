#pragma once
// Stream generators: an ideal Bernoulli source and an array of CBRAM devices (cbram/device.hpp).
//
// Word-parallel Bernoulli bits: 64 bits of probability P / 2^k come from k random 64-bit words w_j
// combined as a bit-serial comparator, LSB first: r <- P_j ? (r | w_j) : (r & w_j). Each output bit is
// then [U < P] for a k-bit uniform U made of the words' bits, i.e. exactly Bernoulli(P / 2^k); trailing
// zero bits of P cost nothing (P = 1/2 needs one word). The probability is quantized to 2^-k
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

// round(p 2^bits), for p in [0, 1] and 1 <= bits <= 32; throws xbarkit::Error otherwise.
uint64_t quantize_probability(double p, int bits);
inline double quantized_value(double p, int bits) {
  return static_cast<double>(quantize_probability(p, bits)) / static_cast<double>(uint64_t{1} << bits);
}

// 64 independent bits, each 1 with probability threshold / 2^bits.
inline uint64_t bernoulli_word(uint64_t threshold, int bits, Rng& rng) {
  if (threshold == 0) return 0;
  if (threshold >> bits) return ~uint64_t{0};
  uint64_t r = 0;
  for (int j = __builtin_ctzll(threshold); j < bits; ++j) r = ((threshold >> j) & 1u) ? (r | rng()) : (r & rng());
  return r;
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
};

}  // namespace xbarkit::sc
