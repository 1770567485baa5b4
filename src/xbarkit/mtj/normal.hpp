#pragma once
// Fast standard-normal draws for the thermal field: the ziggurat method (Marsaglia & Tsang, J. Stat.
// Softw. 5(8), 2000) with 256 layers in Doornik's formulation (ZIGNOR, 2005), which uses an
// independent uniform for the layer test and so avoids the correlation flaw of the original.
// One 64-bit xoshiro draw gives the layer (low 8 bits) and a 53-bit signed uniform; ~99 % of draws
// return after one table lookup and one comparison, ~4x faster than the polar method in core/rng.hpp.
// Deterministic for a given Rng stream (the tables are computed once with <cmath>).
#include <cmath>
#include <cstdint>

#include "xbarkit/core/rng.hpp"

namespace xbarkit::mtj {

class Ziggurat {
public:
  static const Ziggurat& instance() {
    static const Ziggurat z;
    return z;
  }
  double operator()(Rng& rng) const {
    for (;;) {
      const uint64_t bits = rng();
      const unsigned i = static_cast<unsigned>(bits & 0xff);
      const double u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;  // [-1, 1)
      const double x = u * x_[i];
      if (std::abs(x) < x_[i + 1]) return x;
      if (i == 0) return tail(rng, u < 0);
      const double f0 = std::exp(-0.5 * x_[i] * x_[i]), f1 = std::exp(-0.5 * x_[i + 1] * x_[i + 1]);
      if (f1 + rng.uniform() * (f0 - f1) < std::exp(-0.5 * x * x)) return x;
    }
  }

private:
  static constexpr int kLayers = 256;
  static constexpr double kR = 3.6541528853610088;    // start of the tail
  static constexpr double kV = 4.92867323399e-3;      // area of each layer
  Ziggurat() {
    const double f = std::exp(-0.5 * kR * kR);
    x_[0] = kV / f;
    x_[1] = kR;
    for (int i = 2; i < kLayers; ++i) x_[i] = std::sqrt(-2.0 * std::log(kV / x_[i - 1] + std::exp(-0.5 * x_[i - 1] * x_[i - 1])));
    x_[kLayers] = 0.0;
  }
  static double tail(Rng& rng, bool negative) {
    double a, b;
    do {
      a = -std::log(1.0 - rng.uniform()) / kR;
      b = -std::log(1.0 - rng.uniform());
    } while (b + b < a * a);
    return negative ? -(kR + a) : kR + a;
  }
  double x_[kLayers + 1];
};

}  // namespace xbarkit::mtj
