// Peripheral cost models: their equations at hand-computed points, their scaling laws, and one
// comparison with an independent published model (NeuroSim 1.4's 7nm SAR ADC).
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/cost/peripherals.hpp"
#include "xbarkit/netlist/technology.hpp"

using namespace xbarkit;
using namespace xbarkit::cost;

TEST_CASE("cost: 7nm node constants from the technology file", "[cost]") {
  const auto n = node_from(netlist::load_technology("7nm"));
  // cg W Leff + 2 cof = 2.5e-2 * 70.5e-9 * 18e-9 + 2 * 17.3e-18 = 31.7 + 34.6 aF.
  CHECK(n.gate_cap_F == Approx(2.5e-2 * 70.5e-9 * 18e-9 + 2 * 17.3e-18).epsilon(1e-12));
  CHECK(n.junction_cap_F == Approx(14.65e-18).epsilon(1e-12));
  CHECK(n.r_on_ohm == Approx(0.7 / 37.85e-6).epsilon(1e-12));
  CHECK(n.transistor_area_m2 == Approx(108e-9 * 108e-9).epsilon(1e-12));
  // FO4 ~ 3.7 ps: ASAP7 reports FO4 delays of a few ps at 0.7 V (Clark et al. 2016).
  CHECK(n.fo4_s == Approx(0.69 * n.r_on_ohm * (4 * n.gate_cap_F + 2 * n.junction_cap_F)).epsilon(1e-12));
  CHECK(n.fo4_s > 2e-12);
  CHECK(n.fo4_s < 6e-12);
}

TEST_CASE("cost: SAR ADC energy doubles per bit - scales as C V^2 - takes n + 1 cycles", "[cost]") {
  const auto n = node_from(netlist::load_technology("7nm"));
  AdcSpec s;
  s.bits = 4;
  const auto a4 = adc(s, n);
  // 5 fJ/step at 28 nm, 0.9 V -> x (7/28) (0.7/0.9)^2 at 7nm, x 2^4 steps.
  CHECK(a4.energy_J == Approx(5e-15 * 0.25 * (0.7 / 0.9) * (0.7 / 0.9) * 16).epsilon(1e-12));
  CHECK(a4.latency_s == Approx(5e-9).epsilon(1e-12));
  s.bits = 5;
  CHECK(adc(s, n).energy_J == Approx(2 * a4.energy_J).epsilon(1e-12));
  // NeuroSim 1.4's 7nm SAR (LP): P = (0.1061 log2(levels) + 0.8847) uW over (log2(levels) + 1) ns,
  // 6.5 fJ at 4 bits; ours takes another survey point (docs/COSTS.md), so agreement within 2x is the
  // claim: both describe the same class of converter.
  s.bits = 4;
  const double neurosim = (0.1061 * 4 + 0.8847) * 1e-6 * 5e-9;
  CHECK(a4.energy_J / neurosim > 0.5);
  CHECK(a4.energy_J / neurosim < 2.0);
  s.type = "flash";
  const auto f4 = adc(s, n);
  CHECK(f4.energy_J == Approx(15 * sense_amp(n).energy_J + 4 * adder(4, n).energy_J).epsilon(1e-12));
  s.type = "pipelined";
  CHECK_THROWS_WITH(adc(s, n), Catch::Contains("sar | flash"));
}

TEST_CASE("cost: adders from Horowitz's 45 nm energies - scaled to 7nm", "[cost]") {
  const auto n = node_from(netlist::load_technology("7nm"));
  // 32-bit add: 0.1 pJ x (7/45) x (0.7/0.9)^2 = 9.41 fJ.
  CHECK(adder(32, n).energy_J == Approx(0.1e-12 * (7.0 / 45) * (0.7 / 0.9) * (0.7 / 0.9)).epsilon(1e-12));
  CHECK(adder(8, n).energy_J == Approx(adder(32, n).energy_J / 4).epsilon(1e-12));
  CHECK(adder(8, n).latency_s == Approx(16 * n.fo4_s).epsilon(1e-12));
}

TEST_CASE("cost: SOT-MTJ sample energy I^2 R t plus read and reset", "[cost]") {
  const auto n = node_from(netlist::load_technology("7nm"));
  MtjConverterSpec s;
  s.write_current_A = 100e-6;
  s.reset_current_A = 150e-6;
  s.pulse_s = 2e-9;
  s.r_heavy_metal_ohm = 1000;  // beta-W strip 120 x 60 x 4 nm at 200 uOhm cm
  s.r_path_ohm = 500;
  s.r_mtj_ohm = 7000;
  s.v_read_V = 0.1;
  s.t_read_s = 1e-9;
  s.samples = 4;
  const auto one = mtj_sample(s, n);
  const double write = 100e-6 * 100e-6 * 1500 * 2e-9;   // 30 fJ
  const double reset = 150e-6 * 150e-6 * 1500 * 2e-9;   // 67.5 fJ
  const double read = 0.01 / 7000 * 1e-9 + sense_amp(n).energy_J;
  CHECK(one.energy_J == Approx(write + reset + read).epsilon(1e-12));
  CHECK(one.latency_s == Approx(5e-9).epsilon(1e-12));
  const auto all = mtj_conversion(s, n);
  CHECK(all.energy_J == Approx(4 * (one.energy_J + adder(3, n).energy_J + register_bits(3, n).energy_J)).epsilon(1e-12));
  CHECK(all.latency_s == Approx(4 * one.latency_s).epsilon(1e-12));
  s.pulse_s = 0;
  CHECK_THROWS(mtj_sample(s, n));
}

TEST_CASE("cost: the CBRAM bit-stream generator entry scales with the node", "[cost]") {
  const auto n = node_from(netlist::load_technology("7nm"));
  const auto u = cbram_bitstream_generator();
  CHECK(u.area_m2 == Approx(1.55e-6));
  CHECK(u.power_W == Approx(167e-6));
  const auto c = scaled_per_bit(u, 100e6, n);
  CHECK(c.area_m2 == Approx(1.55e-6 * (7.0 / 40) * (7.0 / 40)).epsilon(1e-12));
  CHECK(c.energy_J == Approx(167e-6 * (7.0 / 40) * (0.7 / 1.1) * (0.7 / 1.1) / 100e6).epsilon(1e-12));
}
