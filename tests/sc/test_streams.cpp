#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/sc/source.hpp"
#include "xbarkit/sc/stream.hpp"

using namespace xbarkit;
using namespace xbarkit::sc;

namespace {

// Sample variance of R independent L-bit estimates of p, and its standard error for binomial data:
// Var(s^2) = sigma^4 (2 / (R - 1) + kappa / R), kappa = (1 - 6 p (1 - p)) / (L p (1 - p)) the excess
// kurtosis of a binomial mean.
struct VarianceCheck {
  double mean = 0, var = 0, expected = 0, se = 0;
};

template <class Gen>
VarianceCheck estimate_variance(double p, size_t L, int R, Gen gen) {
  std::vector<double> est;
  for (int r = 0; r < R; ++r) est.push_back(gen().probability());
  VarianceCheck v;
  for (double e : est) v.mean += e / R;
  for (double e : est) v.var += (e - v.mean) * (e - v.mean) / (R - 1);
  v.expected = p * (1 - p) / static_cast<double>(L);
  const double kappa = (1 - 6 * p * (1 - p)) / (static_cast<double>(L) * p * (1 - p));
  v.se = v.expected * std::sqrt(2.0 / (R - 1) + kappa / R);
  return v;
}

}  // namespace

TEST_CASE("sc: the variance of an L-bit estimate of p is p(1-p)/L (ideal and CBRAM sources)") {
  const auto dev = cbram::load_device("ag_asi_gaba2013");
  CbramArrayOptions o;
  o.devices = 1;
  o.seed = 11;
  const CbramStreamArray cbram_array(dev, o);
  for (double p : {0.1, 0.5, 0.83})
    for (size_t L : {16, 64, 100, 1000}) {
      Rng rng(derive_seed(1, L), static_cast<uint64_t>(p * 1000));
      const int R = 20000;
      const auto ideal = estimate_variance(quantized_value(p, kDefaultProbabilityBits), L, R,
                                           [&] { return bernoulli_stream(p, L, rng); });
      INFO("ideal p " << p << " L " << L << ": var " << ideal.var << " expected " << ideal.expected << " +- " << ideal.se);
      CHECK(std::abs(ideal.var - ideal.expected) < 5 * ideal.se);
      CHECK(std::abs(ideal.mean - p) < 5 * std::sqrt(ideal.expected / R));
      // The CBRAM stream is Bernoulli with the device's own probability (its tau0 differs from the
      // nominal one), so the law holds with that p.
      const double pd = cbram_array.bit_probability(0, p);
      const auto cb = estimate_variance(pd, L, R, [&] { return cbram_array.generate(0, p, L, rng); });
      INFO("cbram p " << p << " (device " << pd << ") L " << L << ": var " << cb.var << " expected " << cb.expected);
      CHECK(std::abs(cb.var - cb.expected) < 5 * cb.se);
      CHECK(std::abs(cb.mean - pd) < 5 * std::sqrt(cb.expected / R));
    }
}

TEST_CASE("sc: AND multiplies independent unipolar streams and correlated streams give the known bias") {
  const size_t L = size_t{1} << 20;
  const double se = 0.5 / std::sqrt(static_cast<double>(L));  // upper bound of a proportion's sd
  Rng rng(3);
  const double pa = 0.3, pb = 0.7;
  const auto a = bernoulli_stream(pa, L, rng), b = bernoulli_stream(pb, L, rng);
  CHECK(std::abs(sc_and(a, b).probability() - pa * pb) < 5 * se);
  CHECK(std::abs(scc(a, b)) < 0.02);
  // AND of a stream with itself (one stream wired to both inputs): p, not p^2.
  CHECK(sc_and(a, a).probability() == a.probability());
  CHECK(std::abs(sc_and(a, a).probability() - pa) < 5 * se);
  // Two values from one shared random source (a CBRAM cell read at two times of one pulse):
  // AND = min(pa, pb), SCC = +1.
  const std::vector<double> ps{pa, pb};
  const auto shared = shared_streams(ps, L, rng);
  CHECK(std::abs(sc_and(shared[0], shared[1]).probability() - std::min(pa, pb)) < 5 * se);
  CHECK(scc(shared[0], shared[1]) == Approx(1.0));
  // Bipolar XNOR: independent streams multiply; shared streams of xa, xb give 1 - |xa - xb|
  // (P(XNOR = 1) = 1 - |pa - pb| for nested events); a stream XNOR itself gives +1.
  const double xa = -0.4, xb = 0.6;
  const auto sa = bernoulli_stream(to_probability(xa, Encoding::bipolar), L, rng);
  const auto sb = bernoulli_stream(to_probability(xb, Encoding::bipolar), L, rng);
  CHECK(std::abs(sc_xnor(sa, sb).value(Encoding::bipolar) - xa * xb) < 10 * se);
  CHECK(sc_xnor(sa, sa).value(Encoding::bipolar) == 1.0);
  const std::vector<double> bp{to_probability(xa, Encoding::bipolar), to_probability(xb, Encoding::bipolar)};
  const auto sh = shared_streams(bp, L, rng);
  CHECK(std::abs(sc_xnor(sh[0], sh[1]).value(Encoding::bipolar) - (1 - std::abs(xa - xb))) < 10 * se);
}

TEST_CASE("sc: MUX adds with scale 1/2 and counters convert back and tails stay zero") {
  const size_t L = 100000 + 37;  // not a multiple of 64: the tail mask matters
  const double se = 0.5 / std::sqrt(static_cast<double>(L));
  Rng rng(9);
  const auto a = bernoulli_stream(0.2, L, rng), b = bernoulli_stream(0.9, L, rng), s = bernoulli_stream(0.5, L, rng);
  CHECK(std::abs(sc_mux(a, b, s).probability() - 0.55) < 5 * se);
  const auto ba = bernoulli_stream(to_probability(-0.8, Encoding::bipolar), L, rng);
  const auto bb = bernoulli_stream(to_probability(0.4, Encoding::bipolar), L, rng);
  CHECK(std::abs(sc_mux(ba, bb, s).value(Encoding::bipolar) - (-0.2)) < 10 * se);
  // NOT and XNOR of all-zero tails must not count bits past L.
  const Stream zero(L);
  CHECK(sc_not(zero).count() == L);
  CHECK(sc_xnor(zero, zero).count() == L);
  Counter c;
  c.add(a);
  c.add(b);
  CHECK(c.bits() == 2 * L);
  CHECK(c.ones() == a.count() + b.count());
  CHECK(std::abs(c.probability() - 0.55) < 5 * se);
  // p = 0 and p = 1 are exact.
  CHECK(bernoulli_stream(0.0, L, rng).count() == 0);
  CHECK(bernoulli_stream(1.0, L, rng).count() == L);
}

TEST_CASE("sc: CBRAM word-parallel streams have the law of the event-level cell simulation") {
  auto dev = cbram::load_device("ag_asi_gaba2013");
  CbramArrayOptions o;
  o.devices = 4;
  o.seed = 21;
  const CbramStreamArray arr(dev, o);
  const size_t L = 200000;
  Rng rng(4);
  for (size_t i = 0; i < arr.size(); ++i)
    for (double p : {0.05, 0.5, 0.9}) {
      const double fast = arr.generate(i, p, L, rng).probability();
      const double events = arr.generate_events(i, p, L, rng).probability();
      const double pd = arr.device_probability(i, p);
      const double sd = std::sqrt(pd * (1 - pd) / L);
      CHECK(std::abs(fast - pd) < 5 * sd);
      CHECK(std::abs(events - pd) < 5 * sd);
    }
  // With RESET failures the generator simulates bit by bit: P(1) = p / (1 - q (1 - p)).
  dev.reset_failure_probability = 0.2;
  const CbramStreamArray sticky(dev, o);
  const double pd = sticky.device_probability(0, 0.5), q = 0.2;
  const double pi = pd / (1 - q * (1 - pd)), rho = q * (1 - pd);
  const double got = sticky.generate(0, 0.5, L, rng).probability();
  CHECK(std::abs(got - pi) < 5 * std::sqrt(pi * (1 - pi) / L * (1 + rho) / (1 - rho)));
}

TEST_CASE("sc: per-device calibration leaves the binomial calibration error and nominal leaves the device spread") {
  const auto dev = cbram::load_device("ag_asi_gaba2013");
  CbramArrayOptions o;
  o.devices = 3000;
  o.seed = 8;
  o.calibration = Calibration::nominal;
  const CbramStreamArray nominal(dev, o);
  o.calibration = Calibration::per_device;
  o.calibration_trials = 400;
  const CbramStreamArray calibrated(dev, o);
  double ss_nom = 0, ss_cal = 0, ss_pred = 0;
  for (size_t i = 0; i < o.devices; ++i) {
    const double en = nominal.device_probability(i, 0.5) - 0.5;
    const double ec = calibrated.device_probability(i, 0.5) - 0.5;
    ss_nom += en * en;
    ss_cal += ec * ec;
    // Predicted calibration error: the count at the P = 1/2 pulse has variance pt (1 - pt) / n; it
    // maps to the encoded probability with slope ln 2 / (2 (1 - pt) (-ln(1 - pt))) (first order).
    const double pt = cbram::p_switch(dev, dev.program_voltage_V, cbram::pulse_for_probability(dev, 0.5, dev.program_voltage_V),
                                      calibrated.cell(i).tau0_factor);
    const double slope = std::log(2.0) / (2 * (1 - pt) * -std::log1p(-pt));
    ss_pred += slope * slope * pt * (1 - pt) / o.calibration_trials;
  }
  const double rms_nom = std::sqrt(ss_nom / o.devices), rms_cal = std::sqrt(ss_cal / o.devices),
               rms_pred = std::sqrt(ss_pred / o.devices);
  INFO("rms error of P(0.5): nominal " << rms_nom << ", calibrated " << rms_cal << ", predicted " << rms_pred);
  // sigma_ln tau0 = 0.5 moves P(1/2) by ~ 0.5 * ln 2 * 0.5 = 0.17 rms; 400-count calibration by ~0.025.
  CHECK(rms_nom > 0.1);
  CHECK(rms_cal == Approx(rms_pred).epsilon(0.1));  // 3000 devices: the rms is known to ~2%
}

TEST_CASE("sc: bad input: probabilities outside [0 1] and zero lengths and bad resolutions") {
  Rng rng(1);
  CHECK_THROWS_WITH(to_probability(1.5, Encoding::unipolar), Catch::Contains("1.5") && Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(to_probability(-0.01, Encoding::unipolar), Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(to_probability(-1.1, Encoding::bipolar), Catch::Contains("[-1, 1]"));
  CHECK_THROWS_WITH(to_probability(std::nan(""), Encoding::bipolar), Catch::Contains("[-1, 1]"));
  CHECK_THROWS_WITH(bernoulli_stream(1.2, 64, rng), Catch::Contains("1.2") && Catch::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(bernoulli_stream(0.5, 0, rng), Catch::Contains("length must be > 0"));
  CHECK_THROWS_WITH(bernoulli_stream(0.5, 64, rng, 0), Catch::Contains("1..32"));
  const auto dev = cbram::load_device("ag_asi_gaba2013");
  CbramArrayOptions o;
  const CbramStreamArray arr(dev, o);
  CHECK_THROWS_WITH(arr.generate(0, -0.2, 64, rng), Catch::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(arr.generate(0, 0.5, 0, rng), Catch::Contains("length must be > 0"));
  o.devices = 0;
  CHECK_THROWS_WITH(CbramStreamArray(dev, o), Catch::Contains("at least one device"));
  o.devices = 1;
  o.calibration_trials = 0;
  CHECK_THROWS_WITH(CbramStreamArray(dev, o), Catch::Contains("calibration_trials"));
  CHECK_THROWS_WITH(sc_and(Stream(64), Stream(65)), Catch::Contains("64") && Catch::Contains("65"));
}

TEST_CASE("sc: a pulse-width step in the driver quantizes the encoded probability as the closed form says") {
  const auto dev = cbram::load_device("ag_asi_gaba2013");
  CbramArrayOptions o;
  o.devices = 1;
  o.calibration = Calibration::nominal;
  o.pulse_resolution_s = 100e-6;  // 100 us steps against tau(3 V) = 1.27 ms
  const CbramStreamArray arr(dev, o);
  const double V = dev.program_voltage_V, tau = dev.tau_s(V);
  double worst = 0;
  for (double p = 0.01; p < 0.99; p += 0.01) {
    const double t = arr.pulse_s(0, p);
    CHECK(std::abs(std::remainder(t, 100e-6)) < 1e-12);
    CHECK(arr.device_probability(0, p) == Approx(cbram::p_switch(dev, V, t, arr.cell(0).tau0_factor)).epsilon(1e-12));
    // Mean-value theorem on P = 1 - exp(-t / tau'): |dP| <= (1 - min P) |dt| / tau', |dt| <= step / 2,
    // against the unrounded pulse on the same cell (tau' = its own tau).
    const double t_exact = cbram::pulse_for_probability(dev, p, V);
    const double p_exact = cbram::p_switch(dev, V, t_exact, arr.cell(0).tau0_factor);
    const double bound = (1 - std::min(p_exact, arr.device_probability(0, p))) * 50e-6 / (tau * arr.cell(0).tau0_factor);
    CHECK(std::abs(arr.device_probability(0, p) - p_exact) <= bound * 1.0001);
    worst = std::max(worst, std::abs(arr.device_probability(0, p) - p_exact));
  }
  CHECK(worst > 0);
  o.pulse_resolution_s = -1;
  CHECK_THROWS_WITH(CbramStreamArray(dev, o), Catch::Contains("pulse_resolution_s"));
}

TEST_CASE("sc: CBRAM correlation is explicit: two devices are independent and one device read twice is nested") {
  const auto dev = cbram::load_device("ag_asi_gaba2013");
  CbramArrayOptions o;
  o.devices = 2;
  o.seed = 31;
  const CbramStreamArray arr(dev, o);
  const size_t L = size_t{1} << 20;
  const double se = 0.5 / std::sqrt(static_cast<double>(L));
  Rng rng(6);
  const double xa = 0.4, xb = 0.7;  // unipolar values
  // Independent devices: AND multiplies their (device) probabilities.
  const auto a = arr.encode(0, xa, Encoding::unipolar, L, rng), b = arr.encode(1, xb, Encoding::unipolar, L, rng);
  const double pa = arr.device_probability(0, xa), pb = arr.device_probability(1, xb);
  CHECK(std::abs(sc_and(a, b).probability() - pa * pb) < 5 * se);
  // One device read at two pulse widths: AND gives min(pa', pb') of that device.
  const std::vector<double> ps{xa, xb};
  const auto sh = arr.generate_shared(0, ps, L, rng);
  const double qa = arr.device_probability(0, xa), qb = arr.device_probability(0, xb);
  CHECK(std::abs(sh[0].probability() - qa) < 5 * se);
  CHECK(std::abs(sh[1].probability() - qb) < 5 * se);
  CHECK(std::abs(sc_and(sh[0], sh[1]).probability() - std::min(qa, qb)) < 5 * se);
  CHECK(scc(sh[0], sh[1]) == Approx(1.0));
  CHECK(std::abs(scc(a, b)) < 0.01);
  CHECK_THROWS_WITH(arr.encode(0, 1.5, Encoding::unipolar, 64, rng), Catch::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(arr.encode(0, -1.5, Encoding::bipolar, 64, rng), Catch::Contains("[-1, 1]"));
}

TEST_CASE("sc: the MSB-first early-stopping comparator gives the bits of the full comparison for the same words") {
  // For the same random words (word j = the complement of bit j of every lane's uniform U, the
  // convention of the bit-serial recurrence r <- P_j ? (r | w_j) : (r & w_j)), compare_msb_first must equal
  // both the full LSB-first bit-serial comparison and the lane-by-lane integer comparison [U < P]:
  // exact, for every threshold including 0, 2^bits and thresholds with trailing zero bits.
  Rng rng(2024);
  for (int bits : {1, 2, 5, 16, 24, 32}) {
    std::vector<uint64_t> thresholds{0, uint64_t{1} << bits, 1, uint64_t{1} << (bits - 1), (uint64_t{1} << bits) - 1};
    for (int k = 0; k < 300; ++k) {
      uint64_t t = rng() & ((uint64_t{1} << bits) - 1);
      if (k % 3 == 0) t &= ~uint64_t{0} << (rng() % static_cast<uint64_t>(bits));  // trailing zeros
      thresholds.push_back(t);
    }
    for (uint64_t t : thresholds) {
      std::vector<uint64_t> words(static_cast<size_t>(bits));
      for (auto& w : words) w = rng();
      if (t % 7 == 0)  // lanes equal to P on every bit: the tie U = P must give 0
        for (int j = 0; j < bits; ++j) words[size_t(j)] = ((t >> j) & 1u) ? 0 : ~uint64_t{0};
      int calls = 0, last = bits;
      bool order_ok = true;
      const uint64_t msb = compare_msb_first(t, bits, [&](int j) {
        order_ok = order_ok && j == last - 1;  // bits - 1, bits - 2, ..., each once
        last = j;
        ++calls;
        return words[size_t(j)];
      });
      const uint64_t lsb = compare_lsb_first(t, bits, [&](int j) { return words[size_t(j)]; });
      uint64_t direct = 0;
      for (int lane = 0; lane < 64; ++lane) {
        uint64_t u = 0;
        for (int j = 0; j < bits; ++j) u |= ((~words[size_t(j)] >> lane) & 1u) << j;
        direct |= uint64_t(u < t) << lane;
      }
      INFO("bits " << bits << " threshold " << t);
      REQUIRE(msb == lsb);
      REQUIRE(msb == direct);
      CHECK(order_ok);
      const int useful = (t == 0 || (t >> bits)) ? 0 : bits - __builtin_ctzll(t);
      CHECK(calls <= useful);
    }
  }
}

TEST_CASE("sc: the MSB-first comparator's mean word count is sum_j 1 - (1 - 2^-j)^64 over P's useful bits") {
  // With independent uniform words, after j words each lane is undecided with probability 2^-j, so the
  // comparator draws word j+1 with probability 1 - (1 - 2^-j)^64 (j < the m = bits - ctz(P) useful
  // bits). For m = 16 that is 7.35 words instead of the LSB-first comparison's 16.
  Rng rng(77);
  for (uint64_t t : {uint64_t{0x8001}, uint64_t{0x5555}, uint64_t{0x7ff0}, uint64_t{0x8000}, uint64_t{0x0c00}}) {
    const int bits = 16, m = bits - __builtin_ctzll(t);
    double expected = 0;
    for (int j = 0; j < m; ++j) expected += 1 - std::pow(1 - std::ldexp(1.0, -j), 64);
    const int n = 20000;
    double sum = 0, sum2 = 0;
    for (int k = 0; k < n; ++k) {
      int calls = 0;
      compare_msb_first(t, bits, [&](int) {
        ++calls;
        return rng();
      });
      sum += calls;
      sum2 += double(calls) * calls;
    }
    const double mean = sum / n, sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
    INFO("threshold " << t << ": mean words " << mean << " expected " << expected << " sd " << sd);
    CHECK(std::abs(mean - expected) <= 5 * sd / std::sqrt(double(n)) + 1e-12);  // 5 standard errors
    if (m == 16) CHECK(expected == Approx(7.35).margin(0.01));
  }
}

TEST_CASE("sc: CBRAM comparator thresholds (with the cached 0, 1/2, 1 requests) equal the quantized closed form") {
  // CbramStreamArray::threshold is what the update kernel uses per stream; it must be
  // round(device_probability 2^bits) exactly, for every option that changes device_probability.
  auto dev = cbram::load_device("ag_asi_gaba2013");
  for (int variant = 0; variant < 4; ++variant) {
    CbramArrayOptions o;
    o.devices = 5;
    o.seed = 3 + variant;
    if (variant == 1) o.calibration = Calibration::nominal;
    if (variant == 2) o.pulse_resolution_s = 50e-6;
    if (variant == 3) {
      dev.tau0_c2c_sigma_ln = 0.3;
      o.probability_bits = 12;
    }
    const CbramStreamArray arr(dev, o);
    Rng rng(9);
    std::vector<double> ps{0.0, 0.5, 1.0, 0.25, 0.75, 1e-9, 1 - 1e-9};
    for (int k = 0; k < 200; ++k) ps.push_back(rng.uniform());
    for (size_t i = 0; i < arr.size(); ++i)
      for (double p : ps) {
        INFO("variant " << variant << " device " << i << " p " << p);
        REQUIRE(arr.threshold(i, p) == quantize_probability(arr.device_probability(i, p), o.probability_bits));
        CHECK(arr.bit_probability(i, p) == quantized_value(arr.device_probability(i, p), o.probability_bits));
      }
  }
}
