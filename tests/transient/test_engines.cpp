// Native read transient vs ngspice .tran on the same Crossbar (issue 19's must-hold table).
#include <catch2/catch.hpp>

#include <cmath>

#include "xbarkit/core/rng.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/session.hpp"
#include "xbarkit/transient/read.hpp"

using namespace xbarkit;

namespace {

netlist::Crossbar make(const std::string& kind, int n, double r_wire, bool ones, uint64_t seed) {
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), kind, n, n);
  // r_wire < 0: the technology's default wires; otherwise every line r_wire ohm per segment.
  if (r_wire >= 0) x.parasitics.r_bitline_ohm = x.parasitics.r_sourceline_ohm = x.parasitics.r_wordline_ohm = r_wire;
  if (ones) {
    std::fill(x.inputs.begin(), x.inputs.end(), 1);
    std::fill(x.weights.begin(), x.weights.end(), 1);
  } else {
    netlist::fill_random_inputs(x, 0.5, seed);
    netlist::fill_random_weights(x, 0.5, seed);
    if (kind == "pcm") {  // analog PCM states: every cell's conductance uniform in [0, g_max]
      Rng rng(seed, 5);
      x.state.resize(size_t(n) * size_t(n));
      for (auto& g : x.state) g = x.params.number("g_max") * rng.uniform();
    }
  }
  return x;
}

double rel(double a, double b) { return std::abs(a - b) / std::abs(b); }

// ngspice settings: `fast` = reltol 1e-5 and TMAX = window / 50 (the 16x16 and 32x32 cases; the
// default reltol 1e-6, TMAX window / 200 otherwise). Measured on a 16x16 sram8t read (default
// wires): against the default settings the fast ones move a column's settling time by 1.3e-4 and
// its clamp charge by 5e-6 relative, two decades inside the 1% asserted here.
void compare(spice::Session& session, const std::string& kind, int n, double r_wire, bool ones, bool fast = false) {
  {
    const auto x = make(kind, n, r_wire, ones, 11);
    transient::ReadOptions o;
    o.window_s = transient::auto_window(x);
    if (fast) {
      o.ngspice_reltol = 1e-5;
      o.output_points = 50;
    }
    const auto nat = transient::read_native(x, o);
    const auto ref = transient::read_ngspice(session, x, o);
    INFO(kind << " " << n << "x" << n << " wires " << (r_wire < 0 ? "default" : std::to_string(r_wire)) << (ones ? " all-ones" : " random"));
    INFO("latency native " << nat.read_latency_s << " ngspice " << ref.read_latency_s << "; energy native "
                           << nat.read_energy_J << " ngspice " << ref.read_energy_J);
    REQUIRE(nat.all_settled());
    REQUIRE(ref.all_settled());
    // The 1%: both engines integrate the same circuit, each under its own local error
    // control (native TR-BDF2 at 1 uV + 1e-5 |v|, largest step window / 100, sampled at every step
    // and stage point; ngspice trapezoidal at reltol 1e-6, TMAX window / 200, or the fast settings
    // above); settling times are
    // read off their samples by linear
    // interpolation. Measured agreement is ~1e-4 (docs/VALIDATION.md), so 1% keeps two decades.
    CHECK(rel(nat.read_latency_s, ref.read_latency_s) < 0.01);
    CHECK(rel(nat.read_energy_J, ref.read_energy_J) < 0.01);
    for (size_t j = 0; j < nat.settle_s.size(); ++j) {
      INFO("column " << j);
      CHECK(std::abs(nat.settle_s[j] - ref.settle_s[j]) < 0.01 * ref.read_latency_s);
    }
    for (const auto& s : nat.sources) {
      INFO("source " << s.name);
      const auto it = std::find_if(ref.sources.begin(), ref.sources.end(), [&](const auto& o) { return o.name == s.name; });
      REQUIRE(it != ref.sources.end());
      CHECK(std::abs(s.energy_J - it->energy_J) < 0.01 * std::abs(it->energy_J) + 1e-3 * ref.read_energy_J);
    }
  }
}

}  // namespace

// Sizes: every kind at 16x16 and 32x32 (pcm with analog conductance states under the random stimulus) with 0 / default / 50 ohm wires, random and all-ones (the
// issue's table), the transistor kinds also at 8x8 with ngspice's default settings. At 16x16 one
// test per kind and wire setting covers both stimuli (two reads in each engine, 20-30 s of CPU).
// At 32x32 each stimulus is its own test; sram8t's and rram1t1r's are tagged [.slow] (hidden from
// the default run and from ctest; run them with `test_transient "[slow]"`): one ngspice read of a
// 32x32 array of those takes about 46 s (rram1t1r) and 1-4 minutes (sram8t) of CPU even with the
// fast settings, about 20 CPU minutes for the twelve, in ngspice's per-iteration device load and
// sparse LU (docs/PERFORMANCE.md), mram1t1mtj's 40-60 s. Their run (results and times) is recorded
// in docs/VALIDATION.md. 64x64 is the validation run of docs/VALIDATION.md.
TEST_CASE("read transient native vs ngspice: sram8t 8x8 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 8, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: sram8t 8x8 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 8, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 8x8 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 8, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: sram8t 8x8 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 8, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 8x8 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 8, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: sram8t 8x8 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 8, 50.0, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 8x8 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 8, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 8x8 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 8, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 8x8 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 8, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 8x8 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 8, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 8x8 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 8, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 8x8 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 8, 50.0, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 8x8 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 8, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 8x8 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 8, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 8x8 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 8, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 8x8 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 8, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 8x8 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 8, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 8x8 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 8, 50.0, true);
}
TEST_CASE("read transient native vs ngspice: passive 16x16 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 16, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: passive 16x16 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 16, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: passive 16x16 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 16, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: passive 16x16 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 16, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: passive 16x16 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 16, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: passive 16x16 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 16, 50.0, true);
}
TEST_CASE("read transient native vs ngspice: passive 32x32 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 32, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: passive 32x32 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 32, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: passive 32x32 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 32, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: passive 32x32 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 32, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: passive 32x32 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 32, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: passive 32x32 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "passive", 32, 50.0, true);
}

TEST_CASE("read transient native vs ngspice: pcm 16x16 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 16, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: pcm 16x16 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 16, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: pcm 16x16 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 16, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: pcm 16x16 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 16, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: pcm 16x16 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 16, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: pcm 16x16 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 16, 50.0, true);
}
TEST_CASE("read transient native vs ngspice: pcm 32x32 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 32, 0.0, false);
}
TEST_CASE("read transient native vs ngspice: pcm 32x32 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 32, 0.0, true);
}
TEST_CASE("read transient native vs ngspice: pcm 32x32 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 32, -1.0, false);
}
TEST_CASE("read transient native vs ngspice: pcm 32x32 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 32, -1.0, true);
}
TEST_CASE("read transient native vs ngspice: pcm 32x32 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 32, 50.0, false);
}
TEST_CASE("read transient native vs ngspice: pcm 32x32 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "pcm", 32, 50.0, true);
}

TEST_CASE("read transient native vs ngspice: sram8t 16x16 - ideal wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 16, 0.0, false, true);
  compare(s, "sram8t", 16, 0.0, true, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 16x16 - default wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 16, -1.0, false, true);
  compare(s, "sram8t", 16, -1.0, true, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 16x16 - 50 ohm wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "sram8t", 16, 50.0, false, true);
  compare(s, "sram8t", 16, 50.0, true, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 16x16 - ideal wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 16, 0.0, false, true);
  compare(s, "rram1t1r", 16, 0.0, true, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 16x16 - default wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 16, -1.0, false, true);
  compare(s, "rram1t1r", 16, -1.0, true, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 16x16 - 50 ohm wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "rram1t1r", 16, 50.0, false, true);
  compare(s, "rram1t1r", 16, 50.0, true, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 16x16 - ideal wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 16, 0.0, false, true);
  compare(s, "mram1t1mtj", 16, 0.0, true, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 16x16 - default wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 16, -1.0, false, true);
  compare(s, "mram1t1mtj", 16, -1.0, true, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 16x16 - 50 ohm wires - random and all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 16, 50.0, false, true);
  compare(s, "mram1t1mtj", 16, 50.0, true, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 32x32 - ideal wires - random", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "sram8t", 32, 0.0, false, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 32x32 - ideal wires - all-ones", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "sram8t", 32, 0.0, true, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 32x32 - default wires - random", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "sram8t", 32, -1.0, false, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 32x32 - default wires - all-ones", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "sram8t", 32, -1.0, true, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 32x32 - 50 ohm wires - random", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "sram8t", 32, 50.0, false, true);
}
TEST_CASE("read transient native vs ngspice: sram8t 32x32 - 50 ohm wires - all-ones", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "sram8t", 32, 50.0, true, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 32x32 - ideal wires - random", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "rram1t1r", 32, 0.0, false, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 32x32 - ideal wires - all-ones", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "rram1t1r", 32, 0.0, true, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 32x32 - default wires - random", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "rram1t1r", 32, -1.0, false, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 32x32 - default wires - all-ones", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "rram1t1r", 32, -1.0, true, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 32x32 - 50 ohm wires - random", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "rram1t1r", 32, 50.0, false, true);
}
TEST_CASE("read transient native vs ngspice: rram1t1r 32x32 - 50 ohm wires - all-ones", "[transient][ngspice][.slow]") {
  spice::Session s;
  compare(s, "rram1t1r", 32, 50.0, true, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 32x32 - ideal wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 32, 0.0, false, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 32x32 - ideal wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 32, 0.0, true, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 32x32 - default wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 32, -1.0, false, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 32x32 - default wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 32, -1.0, true, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 32x32 - 50 ohm wires - random", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 32, 50.0, false, true);
}
TEST_CASE("read transient native vs ngspice: mram1t1mtj 32x32 - 50 ohm wires - all-ones", "[transient][ngspice]") {
  spice::Session s;
  compare(s, "mram1t1mtj", 32, 50.0, true, true);
}
