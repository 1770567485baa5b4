#include "xbarkit/sc/source.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::sc {

uint64_t quantize_probability(double p, int bits) {
  if (!(bits >= 1 && bits <= 32)) throw Error(fmt::format("SC probability resolution {} bits: must be 1..32", bits));
  if (!(p >= 0 && p <= 1)) throw Error(fmt::format("SC bit probability {} is outside [0, 1]", p));
  return quantize_unchecked(p, bits);
}

void fill_bernoulli(std::span<uint64_t> words, size_t length, double p, int bits, Rng& rng) {
  if (length == 0) throw Error("SC stream length must be > 0");
  if (words.size() != words_for(length))
    throw Error(fmt::format("SC stream of {} bits needs {} words, got {}", length, words_for(length), words.size()));
  fill_threshold(words.data(), words.size(), length, quantize_probability(p, bits), bits, rng);
}

Stream bernoulli_stream(double p, size_t length, Rng& rng, int bits) {
  if (length == 0) throw Error("SC stream length must be > 0");
  Stream s(length);
  fill_bernoulli(s.words, length, p, bits, rng);
  return s;
}

std::vector<Stream> shared_streams(std::span<const double> ps, size_t length, Rng& rng, int bits) {
  if (length == 0) throw Error("SC stream length must be > 0");
  std::vector<uint64_t> thresholds;
  for (double p : ps) thresholds.push_back(quantize_probability(p, bits));
  std::vector<Stream> out(ps.size(), Stream(length));
  std::vector<uint64_t> random(static_cast<size_t>(bits));
  for (size_t w = 0; w < words_for(length); ++w) {
    for (auto& r : random) r = rng();  // one comparator input for every stream
    for (size_t s = 0; s < ps.size(); ++s)
      out[s].words[w] = compare_msb_first(thresholds[s], bits, [&](int j) { return random[size_t(j)]; });
  }
  for (auto& s : out) s.words.back() &= tail_mask(length);
  return out;
}

CbramStreamArray::CbramStreamArray(const cbram::Device& device, const CbramArrayOptions& options)
    : device_(device), options_(options) {
  cbram::validate(device_);
  if (options.devices == 0) throw Error("CBRAM stream array: needs at least one device");
  if (options.calibration == Calibration::per_device && options.calibration_trials < 1)
    throw Error(fmt::format("CBRAM stream array: calibration_trials must be >= 1, got {}", options.calibration_trials));
  quantize_probability(0.5, options.probability_bits);  // validates the resolution
  if (!(options.pulse_resolution_s >= 0) || !std::isfinite(options.pulse_resolution_s))
    throw Error(fmt::format("CBRAM stream array: pulse_resolution_s must be >= 0, got {}", options.pulse_resolution_s));
  const double v = device_.program_voltage_V;
  const double t_half = cbram::pulse_for_probability(device_, 0.5, v);
  for (size_t i = 0; i < options.devices; ++i) {
    Rng rng(options.seed, i);
    cells_.push_back(cbram::Cell::draw(device_, rng));
    double factor = 1.0;
    if (options.calibration == Calibration::per_device) {
      // The controller counts switches of this device at the nominal P = 1/2 pulse and inverts the
      // law for its tau0 (binomial error in the count becomes pulse-width error).
      cbram::Cell c = cells_.back();
      int64_t k = 0;
      for (int64_t n = 0; n < options.calibration_trials; ++n) {
        c.low_resistance = false;  // calibration RESETs are verified
        k += c.bit(device_, v, t_half, rng);
      }
      const double n = static_cast<double>(options.calibration_trials);
      const double p_hat = std::clamp(static_cast<double>(k), 0.5, n - 0.5) / n;
      // p = 1 - exp(-t / (tau_nom f))  =>  f = t / (tau_nom * -ln(1 - p)); exact without c2c spread,
      // first-order with it (the controller assumes the single exponential).
      factor = t_half / (device_.tau_s(v) * -std::log1p(-p_hat));
    }
    calibrated_factor_.push_back(factor);
    tau_calibrated_.push_back(device_.tau_s(v) * factor);
    inv_tau_cell_.push_back(1 / (device_.tau_s(v) * cells_.back().tau0_factor));
    p_full_pulse_.push_back(-std::expm1(-device_.max_pulse_s * inv_tau_cell_.back()));
    t_full_pulse_.push_back(quantize_probability(device_probability(i, 1.0), options_.probability_bits));
    t_half_.push_back(quantize_probability(device_probability(i, 0.5), options_.probability_bits));
  }
}

double CbramStreamArray::pulse_s(size_t i, double p) const {
  if (!(p >= 0 && p <= 1)) throw Error(fmt::format("CBRAM stream generator: probability {} is outside [0, 1]", p));
  if (p == 1) return device_.max_pulse_s;
  double t = cbram::pulse_for_probability(device_, p, device_.program_voltage_V, calibrated_factor_.at(i));
  if (options_.pulse_resolution_s > 0) t = std::round(t / options_.pulse_resolution_s) * options_.pulse_resolution_s;
  return std::min(device_.max_pulse_s, t);
}

double CbramStreamArray::device_probability(size_t i, double p) const {
  if (has_closed_form() && p == 1) return p_full_pulse_[i];
  if (has_closed_form() && p >= 0 && p < 1) {
    // The same closed forms written out (two transcendentals instead of five; the update kernel calls
    // this once per stream): pulse t = -tau_cal ln(1 - p), capped, then P = 1 - exp(-t / tau_cell).
    // The ends, which every ±1 operand asks for, without them: no pulse, or the capped pulse. Keep
    // in step with closed_form() and its vector evaluation in stream_avx512.cpp.
    if (p == 0) return 0.0;
    const double t = std::min(device_.max_pulse_s, -tau_calibrated_[i] * std::log1p(-p));
    return -std::expm1(-t * inv_tau_cell_[i]);
  }
  return cbram::p_switch(device_, device_.program_voltage_V, pulse_s(i, p), cells_.at(i).tau0_factor);
}

double CbramStreamArray::bit_probability(size_t i, double p) const {
  if (!(p >= 0 && p <= 1)) throw Error(fmt::format("CBRAM stream generator: probability {} is outside [0, 1]", p));
  return static_cast<double>(threshold(i, p)) / static_cast<double>(uint64_t{1} << options_.probability_bits);
}

void CbramStreamArray::generate(size_t i, double p, size_t length, Rng& rng, std::span<uint64_t> words) const {
  if (device_.reset_failure_probability > 0) {
    const Stream s = generate_events(i, p, length, rng);
    std::copy(s.words.begin(), s.words.end(), words.begin());
    return;
  }
  if (!(p >= 0 && p <= 1)) throw Error(fmt::format("CBRAM stream generator: probability {} is outside [0, 1]", p));
  if (length == 0) throw Error("SC stream length must be > 0");
  if (words.size() != words_for(length))
    throw Error(fmt::format("SC stream of {} bits needs {} words, got {}", length, words_for(length), words.size()));
  fill_threshold(words.data(), words.size(), length, threshold(i, p), options_.probability_bits, rng);
}

Stream CbramStreamArray::generate(size_t i, double p, size_t length, Rng& rng) const {
  if (length == 0) throw Error("SC stream length must be > 0");
  Stream s(length);
  generate(i, p, length, rng, s.words);
  return s;
}

Stream CbramStreamArray::generate_events(size_t i, double p, size_t length, Rng& rng) const {
  if (length == 0) throw Error("SC stream length must be > 0");
  Stream s(length);
  cbram::Cell c = cells_.at(i);
  c.low_resistance = false;
  const double t = pulse_s(i, p);
  for (size_t k = 0; k < length; ++k) s.set_bit(k, c.bit(device_, device_.program_voltage_V, t, rng));
  return s;
}

std::vector<Stream> CbramStreamArray::generate_shared(size_t i, std::span<const double> ps, size_t length,
                                                     Rng& rng) const {
  if (device_.reset_failure_probability > 0)
    throw Error("CBRAM shared streams: not modelled for devices whose RESET can fail");
  // [T < t_j] with T = -tau ln(1 - U) is [U < P_sw(t_j)]: one uniform per bit compared against every
  // value's device probability, exactly the comparator sharing of shared_streams().
  std::vector<double> pd;
  for (double p : ps) pd.push_back(device_probability(i, p));
  return shared_streams(pd, length, rng, options_.probability_bits);
}

}  // namespace xbarkit::sc
