// Bit-sliced multi-bit weights on binary-cell tiles (imc/bit_sliced.hpp) against independent
// implementations: the quantized integer product (ideal sensing), a closed-form quantization bound
// (16-bit slices vs the float product), and a per-element reference read path with the O(rows)
// column features of lut/array_ps.hpp (LUT sensing).
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

#include "imc_test_util.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/bit_sliced.hpp"

using namespace xbarkit;
using namespace xbarkit::imc;

namespace {

nn::WeightMatrix random_matrix(int out, int fan_in, uint64_t seed) {
  nn::WeightMatrix m;
  m.name = "test";
  m.out = out;
  m.fan_in = fan_in;
  Rng rng(seed, 1);
  m.w.resize(size_t(out) * size_t(fan_in));
  for (auto& w : m.w) w = float(rng.normal() * 0.1);
  // An all-zero output and a tiny one: the scale's edge cases.
  for (int n = 0; n < fan_in; ++n) m.w[size_t(n)] = 0.f;
  for (int n = 0; n < fan_in; ++n) m.w[size_t(fan_in) + size_t(n)] *= 1e-6f;
  return m;
}

// Signed inputs with zeros (as after padding) and one all-zero position.
std::vector<float> random_inputs(int fan_in, size_t P, uint64_t seed, bool nonnegative = false) {
  Rng rng(seed, 2);
  std::vector<float> x(size_t(fan_in) * P);
  for (auto& v : x) {
    const double u = rng.uniform();
    v = u < 0.2 ? 0.f : float(nonnegative ? std::abs(rng.normal()) : rng.normal());
  }
  std::fill(x.begin(), x.begin() + fan_in, 0.f);
  return x;
}

SimConfig and_config(int rows) {
  SimConfig c;
  c.mapping = Mapping::And;
  c.rows = rows;
  return c;
}

// The quantization the engine documents, written independently: s_o = max|W_o| / (2^(b−1) − 1),
// integers round(W / s_o); per position r = max|x|, magnitudes round(|x| / r · (2^a − 1)).
std::vector<double> quantized_product(const nn::WeightMatrix& m, const std::vector<float>& x, size_t P, int b, int a,
                                      std::vector<int>* ints = nullptr) {
  const double q = std::pow(2.0, b - 1) - 1, lev = std::pow(2.0, a) - 1;
  std::vector<double> y(P * size_t(m.out), 0.0);
  if (ints) ints->assign(m.w.size(), 0);
  for (int o = 0; o < m.out; ++o) {
    double mx = 0;
    for (int n = 0; n < m.fan_in; ++n) mx = std::max(mx, double(std::abs(m.w[size_t(o * m.fan_in + n)])));
    const double s = mx / q;
    for (size_t p = 0; p < P; ++p) {
      double r = 0;
      for (int n = 0; n < m.fan_in; ++n) r = std::max(r, double(std::abs(x[p * size_t(m.fan_in) + size_t(n)])));
      long long acc = 0;
      for (int n = 0; n < m.fan_in; ++n) {
        const long wi = s > 0 ? std::lround(m.w[size_t(o * m.fan_in + n)] / s) : 0;
        if (ints) (*ints)[size_t(o * m.fan_in + n)] = int(wi);
        const float xv = x[p * size_t(m.fan_in) + size_t(n)];
        const long xi = r > 0 ? std::lround(std::abs(xv) / r * lev) : 0;
        acc += wi * (xv < 0 ? -xi : xi);
      }
      y[p * size_t(m.out) + size_t(o)] = r > 0 ? s * r / lev * double(acc) : 0.0;
    }
  }
  return y;
}

}  // namespace

TEST_CASE("bit-sliced ideal tiles compute the quantized integer product", "[imc][bit-sliced]") {
  const auto m = random_matrix(7, 300, 5);  // 300 inputs over 128-row tiles: 3 tiles, the last partial
  const size_t P = 6;
  const auto x = random_inputs(m.fan_in, P, 9);
  for (auto enc : {WeightEncoding::twos_complement, WeightEncoding::differential})
    for (auto [b, a] : {std::pair{4, 3}, std::pair{8, 6}, std::pair{2, 1}}) {
      INFO(to_string(enc) << " weight bits " << b << " input bits " << a);
      const BitSlicedEngine e({m}, and_config(128), {b, a, enc});
      CHECK(e.columns_per_output() == (enc == WeightEncoding::twos_complement ? b : 2 * (b - 1)));
      std::vector<int> ints;
      const auto ref = quantized_product(m, x, P, b, a, &ints);
      for (int o = 0; o < m.out; ++o)
        for (int n = 0; n < m.fan_in; ++n) REQUIRE(e.weight_integer(0, o, n) == ints[size_t(o * m.fan_in + n)]);
      std::vector<float> y(P * size_t(m.out));
      e.matmul(0, x.data(), P, y.data(), 1);
      for (size_t i = 0; i < y.size(); ++i) {
        // The engine's sum is integer (exact); only the final scaling rounds to float: 2^-23 relative,
        // plus an absolute floor for the zero outputs.
        REQUIRE(std::abs(y[i] - ref[i]) <= 2e-7 * std::abs(ref[i]) + 1e-30);
      }
      const auto st = e.stats();
      CHECK(st[0].reads > 0);
      CHECK(st[0].count_wrong == 0);
    }
}

TEST_CASE("bit-sliced tiles approach the float product as the slices grow", "[imc][bit-sliced]") {
  const auto m = random_matrix(5, 200, 11);
  const size_t P = 4;
  const auto x = random_inputs(m.fan_in, P, 3);
  double err4 = 0, err16 = 0;
  for (int bits : {4, 16}) {
    const BitSlicedEngine e({m}, and_config(64), {bits, bits, WeightEncoding::twos_complement});
    std::vector<float> y(P * size_t(m.out));
    e.matmul(0, x.data(), P, y.data(), 1);
    const double q = std::pow(2.0, bits - 1) - 1, lev = std::pow(2.0, bits) - 1;
    for (size_t p = 0; p < P; ++p) {
      double r = 0;
      for (int n = 0; n < m.fan_in; ++n) r = std::max(r, double(std::abs(x[p * m.fan_in + n])));
      for (int o = 0; o < m.out; ++o) {
        double exact = 0, mx = 0;
        for (int n = 0; n < m.fan_in; ++n) {
          exact += double(m.w[size_t(o * m.fan_in + n)]) * x[p * m.fan_in + n];
          mx = std::max(mx, double(std::abs(m.w[size_t(o * m.fan_in + n)])));
        }
        // Each weight is off by at most s/2 = mx/(2q), each input by r/(2 lev): per term
        // |Δ| <= |x| mx/(2q) + |w| r/(2 lev) + mx r/(4 q lev) <= mx r (1/(2q) + 1/(2 lev) + 1/(4 q lev)).
        const double bound = m.fan_in * mx * r * (1 / (2 * q) + 1 / (2 * lev) + 1 / (4 * q * lev)) + 1e-6 * std::abs(exact);
        const double err = std::abs(y[p * m.out + o] - exact);
        REQUIRE(err <= bound);
        (bits == 4 ? err4 : err16) += err;
      }
    }
  }
  CHECK(err16 < 1e-3 * err4);  // 12 more bits: the error shrinks by orders of magnitude
}

TEST_CASE("bit-sliced LUT sensing equals a per-element reference read path", "[imc][bit-sliced][lut]") {
  const int R = 32;
  const auto lut = imc_test::synthetic_lut(R, 0.9, 0.0);  // strong droop (up to 90% at full load), noise-free
  const auto m = random_matrix(3, 70, 21);                // 3 tiles of 32 rows, the last 6 rows
  const size_t P = 3;
  const auto x = random_inputs(m.fan_in, P, 4);
  const int b = 3, a = 2;
  for (auto enc : {WeightEncoding::twos_complement, WeightEncoding::differential}) {
    INFO(to_string(enc));
    SimConfig c = and_config(R);
    c.cols = 8;  // 3 outputs × J columns spill over column groups
    c.sensing = Sensing::lut;
    c.array_lut = lut;
    c.lut_noise = false;
    const BitSlicedEngine e({m}, c, {b, a, enc});
    const int J = e.columns_per_output();
    const auto& config = lut->find("sram8t", R);
    const double cell = config.ideal_cell_current_A;
    std::vector<float> y(P * size_t(m.out));
    e.matmul(0, x.data(), P, y.data(), 1);

    // Reference: every read element by element.
    const double q = std::pow(2.0, b - 1) - 1, lev = std::pow(2.0, a) - 1;
    double worst = 0, droop_effect = 0;
    for (size_t p = 0; p < P; ++p) {
      double r = 0;
      for (int n = 0; n < m.fan_in; ++n) r = std::max(r, double(std::abs(x[p * m.fan_in + n])));
      for (int o = 0; o < m.out; ++o) {
        double mx = 0;
        for (int n = 0; n < m.fan_in; ++n) mx = std::max(mx, double(std::abs(m.w[size_t(o * m.fan_in + n)])));
        const double s = mx / q;
        long long acc = 0, acc_ideal = 0;
        for (int pass : {1, -1})
          for (int bit = 0; bit < a; ++bit)
            for (int t = 0; t * R < m.fan_in; ++t) {
              std::vector<uint8_t> in(size_t(R), 0);
              bool any = false;
              for (int i = 0; i < R && t * R + i < m.fan_in; ++i) {
                const float xv = x[p * m.fan_in + size_t(t * R + i)];
                const long xi = r > 0 ? std::lround(std::abs(xv) / r * lev) : 0;
                if ((xv < 0 ? -1 : 1) == pass && ((xi >> bit) & 1)) in[size_t(i)] = 1, any = true;
              }
              if (!any) continue;
              for (int j = 0; j < J; ++j) {
                const int col = (o * J + j) % c.cols;
                std::vector<uint8_t> wcol(size_t(R) * size_t(c.cols), 0);
                int k = 0;
                for (int i = 0; i < R && t * R + i < m.fan_in; ++i) {
                  const long wi = s > 0 ? std::lround(m.w[size_t(o * m.fan_in + t * R + i)] / s) : 0;
                  bool bitv;
                  if (enc == WeightEncoding::twos_complement) bitv = ((wi + (1L << b)) % (1L << b) >> j) & 1;
                  else bitv = j < b - 1 ? wi > 0 && ((wi >> j) & 1) : wi < 0 && (((-wi) >> (j - (b - 1))) & 1);
                  wcol[size_t(i) * size_t(c.cols) + size_t(col)] = bitv;
                  k += bitv && in[size_t(i)];
                }
                const auto f = lut::column_features(R, c.cols, col, in, wcol);
                REQUIRE(f.k == k);
                const double I = std::max(0.0, lut->predict(config, f).mean_A);
                const int count = clamp_round(I / cell, std::min(R, m.fan_in - t * R));
                const long long coef = enc == WeightEncoding::twos_complement
                                           ? (j == b - 1 ? -(1LL << j) : 1LL << j)
                                           : (j < b - 1 ? 1LL << j : -(1LL << (j - (b - 1))));
                acc += pass * (1LL << bit) * coef * count;
                acc_ideal += pass * (1LL << bit) * coef * k;
              }
            }
        const double ref = r > 0 ? s * r / lev * double(acc) : 0.0;
        worst = std::max(worst, std::abs(y[p * m.out + o] - ref) / (std::abs(ref) + 1e-30));
        droop_effect += std::abs(double(acc - acc_ideal));
      }
    }
    CHECK(worst <= 2e-7);        // float rounding of the final scaling only
    CHECK(droop_effect > 0);     // the droop does change counts here, so the comparison means something
  }
}

TEST_CASE("bit-sliced LUT noise: same seed, same result on any thread count", "[imc][bit-sliced][lut]") {
  const int R = 32;
  const auto lut = imc_test::synthetic_lut(R, 0.2, 0.05);
  const auto m = random_matrix(4, 90, 8);
  const size_t P = 2, images = 8;
  const auto x = random_inputs(m.fan_in, P, 6);
  SimConfig c = and_config(R);
  c.sensing = Sensing::lut;
  c.array_lut = lut;
  const BitSlicedEngine e({m}, c, {4, 3, WeightEncoding::twos_complement});
  std::vector<float> seq(images * P * size_t(m.out)), par(seq.size());
  for (size_t i = 0; i < images; ++i) e.matmul(0, x.data(), P, seq.data() + i * P * m.out, i);
  {
    std::vector<std::thread> th;
    for (int k = 0; k < 2; ++k)
      th.emplace_back([&, k] {
        for (size_t i = size_t(k); i < images; i += 2) e.matmul(0, x.data(), P, par.data() + i * P * m.out, i);
      });
    for (auto& t : th) t.join();
  }
  CHECK(seq == par);
  c.seed = 2;
  const BitSlicedEngine other({m}, c, {4, 3, WeightEncoding::twos_complement});
  std::vector<float> y2(P * size_t(m.out));
  other.matmul(0, x.data(), P, y2.data(), 0);
  CHECK(std::vector<float>(seq.begin(), seq.begin() + long(y2.size())) != y2);
  CHECK(e.stats()[0].count_wrong > 0);  // the noise does move counts
}

TEST_CASE("bit-sliced mapping refuses what it cannot map", "[imc][bit-sliced]") {
  const auto m = random_matrix(3, 20, 1);
  const auto refused = [&](SimConfig c, BitSlicing s, const std::string& key) {
    try {
      const BitSlicedEngine e({m}, c, s);
    } catch (const InputError& err) {
      CHECK(err.key() == key);
      return;
    }
    FAIL("not refused: " << key);
  };
  refused(and_config(16), {1, 4, WeightEncoding::twos_complement}, "--weight-bits");
  refused(and_config(16), {17, 4, WeightEncoding::twos_complement}, "--weight-bits");
  refused(and_config(16), {4, 0, WeightEncoding::twos_complement}, "--input-bits");
  SimConfig xnor = and_config(16);
  xnor.mapping = Mapping::Xnor;
  refused(xnor, {}, "--mapping");
  SimConfig flips = and_config(16);
  flips.binsparx.static_flip = true;
  refused(flips, {}, "--binsparx");
  SimConfig exact = and_config(16);
  exact.sensing = Sensing::exact;
  refused(exact, {}, "--exact");
  SimConfig mtj = and_config(16);
  mtj.converter = "mtj:stox:4";
  refused(mtj, {}, "--converter");
  auto bad = m;
  bad.w[5] = std::nanf("");
  CHECK_THROWS_AS(BitSlicedEngine({bad}, and_config(16), {}), InputError);
  CHECK_THROWS_WITH(parse_weight_encoding("ones-complement"), Catch::Contains("twos-complement | differential"));
}
