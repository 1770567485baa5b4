#include <cmath>

#include <catch2/catch.hpp>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/sc/cost.hpp"

using namespace xbarkit;
using namespace xbarkit::sc;

TEST_CASE("sc cost: the SET energy closed form matches a Monte Carlo of the waiting time") {
  // E = V^2/R_off E[min(T, t)] + V I_cc E[(t - T)+] with T ~ Exp(tau): sampled directly.
  ScUnitSpec s;
  s.device = cbram::load_device("ag_asi_gaba2013");
  for (double V : {3.0, 4.0}) {
    s.device.program_voltage_V = V;
    const double tau = s.device.tau_s(V);
    for (double p : {0.1, 0.5, 0.9}) {
      const double t = cbram::pulse_for_probability(s.device, p, V);
      Rng rng(static_cast<uint64_t>(V * 10 + p * 100));
      const int n = 200000;
      double sum = 0, sum2 = 0;
      for (int k = 0; k < n; ++k) {
        const double T = -tau * std::log1p(-rng.uniform());
        const double e = V * V / s.r_off_ohm * std::min(T, t) + V * s.i_compliance_A * std::max(0.0, t - T);
        sum += e;
        sum2 += e * e;
      }
      const double mean = sum / n, se = std::sqrt((sum2 / n - mean * mean) / n);
      INFO("V " << V << " p " << p << ": closed form " << set_energy_J(s, p) << " MC " << mean << " +- " << se);
      CHECK(std::abs(set_energy_J(s, p) - mean) < 5 * se);
    }
  }
}

TEST_CASE("sc cost: MAC arrays reproduce Horowitz's 45 nm figures scaled to 40 nm and SC throughput is lanes x rate / L") {
  const double ka = (40.0 / 45) * (40.0 / 45), ke = 40.0 / 45;
  // One INT8 MAC at full utilization: 8x8 multiply 282 um^2 / 0.2 pJ, 24-bit adder 137*24/32 um^2.
  const auto i8 = mac_array_cost(500e6, 8, 500e6, "int");
  REQUIRE(i8.items.size() == 3);
  CHECK(i8.items[0].area_um2 == Approx(282 * ka));
  CHECK(i8.items[0].energy_J == Approx(0.2e-12 * ke));
  CHECK(i8.items[1].area_um2 == Approx(137.0 * 24 / 32 * ka));
  const auto i32 = mac_array_cost(500e6, 32, 500e6, "int");
  CHECK(i32.items[0].area_um2 == Approx(3495 * ka));
  CHECK(i32.items[0].energy_J == Approx(3.1e-12 * ke));
  const auto f32 = mac_array_cost(1e9, 32, 500e6, "fp32");
  CHECK(f32.items[0].count == 2);
  CHECK(f32.items[0].area_um2 + f32.items[1].area_um2 == Approx((7700 + 4184) * ka));
  CHECK(f32.power_W() == Approx(1e9 * (3.7e-12 + 0.9e-12) * ke + 2 * 500e6 * 32 * 0.25 * Digital40nm::dff_energy_J));
  ScUnitSpec s;
  s.device = cbram::load_device("ag_asi_gaba2013");
  s.rows = 10;
  s.cols = 20;
  s.stream_length = 32;
  const auto r = sc_unit_cost(s);
  CHECK(r.products_per_s == Approx(200.0 / generator_bit_period_s(s) / 32));
  CHECK(r.items[0].count == 30);   // generators: rows + cols
  CHECK(r.items[2].count == 30);   // chopping XORs: one per generator
  CHECK(r.items[2].events_per_s == Approx(1.0 / generator_bit_period_s(s) / 32));  // once per sample
  CHECK(r.items[3].count == 200);  // XNOR lanes
  CHECK_THROWS_WITH(mac_array_cost(1e6, 8, 1e8, "bf16"), Catch::Contains("bf16"));
  s.p_max = 1.0;
  CHECK_THROWS_WITH(sc_unit_cost(s), Catch::Contains("p_max"));
}
