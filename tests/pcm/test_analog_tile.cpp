// The analog tile (xbarkit/pcm/analog_tile.hpp): factor once / solve many against a fresh,
// independent factorization per input; the zero-wire limit G V; the signed DAC; aihwkit's
// analytical IR-drop approximation against its own first-order closed form and against the exact
// solve.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

#include "xbarkit/circuit/passive.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/pcm/analog_tile.hpp"
#include "xbarkit/pcm/statistical_model.hpp"

using namespace xbarkit;
using namespace xbarkit::pcm;

namespace {
// Conductance pairs of random weights in [-1, 1]: |w| G_max on one device of the pair, the other at
// 0, then programmed with the PCM model and read at one hour (realistic analog states).
void random_pairs(int rows, int outs, uint64_t seed, Eigen::MatrixXd& gp, Eigen::MatrixXd& gm) {
  const PcmModel m;
  Rng rng(seed, 1);
  std::vector<double> targets(static_cast<size_t>(2 * rows * outs));
  for (size_t k = 0; k < targets.size(); k += 2) {
    const double w = 2 * rng.uniform() - 1;
    targets[k] = w > 0 ? w * m.g_max_S : 0.0;
    targets[k + 1] = w < 0 ? -w * m.g_max_S : 0.0;
  }
  const auto g = read(m, program(m, targets, seed), 3600, seed);
  gp.resize(rows, outs), gm.resize(rows, outs);
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < outs; ++k) {
      const size_t idx = 2 * (static_cast<size_t>(i) * outs + k);
      gp(i, k) = std::min(g[idx], m.g_max_S), gm(i, k) = std::min(g[idx + 1], m.g_max_S);
    }
}
Eigen::MatrixXd random_inputs(int rows, int batch, uint64_t seed) {
  Rng rng(seed, 2);
  Eigen::MatrixXd x(rows, batch);
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < rows; ++i) x(i, b) = 2 * rng.uniform() - 1;
  return x;
}
// Natural scale of column c's current: sum_i G[i][c] |V_i| (signed inputs cancel in the sum, so the
// result itself can be near 0).
Eigen::MatrixXd scale_A(const netlist::Crossbar& x, const Eigen::MatrixXd& v) {
  return ideal_column_currents_A(x, Eigen::MatrixXd(v.cwiseAbs()));
}
}  // namespace

TEST_CASE("analog tile: factor once / solve many - and the transfer matrix - equal a fresh full solve per input to 1e-10",
          "[pcm][tile]") {
  const auto tech = netlist::load_technology("7nm");
  Eigen::MatrixXd gp, gm;
  random_pairs(64, 24, 3, gp, gm);
  for (double r : {8.3, 50.0}) {
    AnalogTileOptions o;
    o.r_wordline_ohm = o.r_bitline_ohm = r;
    const AnalogTile tile(tech, gp, gm, o);
    const Eigen::MatrixXd x = random_inputs(64, 16, 4);
    const Eigen::MatrixXd v = tile.drive_V(x);
    const Eigen::MatrixXd block = tile.column_currents_A(x);  // all 16 vectors as one block
    const Eigen::MatrixXd scale = scale_A(tile.crossbar(), v);
    const Eigen::MatrixXd transfer = tile.transfer_S();  // 48 x 64: one solve per row
    REQUIRE(transfer.rows() == 48);
    REQUIRE(transfer.cols() == 64);
    const Eigen::MatrixXd superposed = transfer * v;  // what the analog engine computes per input
    double worst = 0;
    for (int b = 0; b < x.cols(); ++b) {
      // Fresh: a new network and an independent factorization (Eigen's SparseLU with COLAMD, not
      // the multifrontal Cholesky) for this input alone.
      const circuit::PassiveNetwork fresh(tile.crossbar(), circuit::PassiveOrdering::colamd_lu);
      const Eigen::MatrixXd one = fresh.column_currents(Eigen::MatrixXd(v.col(b)));
      const Eigen::MatrixXd single = tile.column_currents_from_drive_A(Eigen::MatrixXd(v.col(b)));  // one at a time
      for (int c = 0; c < block.rows(); ++c) {
        worst = std::max(worst, std::abs(block(c, b) - one(c, 0)) / scale(c, b));
        worst = std::max(worst, std::abs(single(c, 0) - one(c, 0)) / scale(c, b));
        worst = std::max(worst, std::abs(superposed(c, b) - one(c, 0)) / scale(c, b));
      }
    }
    INFO("r_wire " << r << " ohm: worst deviation / sum G|V| " << worst);
    // All are direct solves of a well-conditioned SPD system (cond ~ 1e6): they agree to ~1e-13.
    // The transfer product adds one dot product of 64 terms of double rounding (~1e-15).
    CHECK(worst <= 1e-10);
    // The differential outputs are the pair differences.
    const Eigen::MatrixXd out = tile.output_currents_A(x);
    CHECK(out(3, 5) == block(6, 5) - block(7, 5));
  }
}

TEST_CASE("analog tile: with zero wires it is G V (to rounding) - the DAC quantizes signed inputs", "[pcm][tile]") {
  const auto tech = netlist::load_technology("7nm");
  Eigen::MatrixXd gp, gm;
  random_pairs(128, 8, 5, gp, gm);
  AnalogTileOptions o;
  o.r_wordline_ohm = o.r_bitline_ohm = 0;
  o.dac_bits = 0;
  const AnalogTile tile(tech, gp, gm, o);
  CHECK(tile.unknowns() == 0);
  const Eigen::MatrixXd x = random_inputs(128, 5, 6);
  const Eigen::MatrixXd cur = tile.output_currents_A(x);
  const Eigen::MatrixXd gv = (gp - gm).transpose() * (tile.v_read_V() * x);
  const Eigen::MatrixXd scale = (gp + gm).transpose() * (tile.v_read_V() * x.cwiseAbs());
  for (int k = 0; k < cur.rows(); ++k)
    for (int b = 0; b < cur.cols(); ++b)
      CHECK(std::abs(cur(k, b) - gv(k, b)) <= 1e-14 * scale(k, b));  // 128-term sums: ~128 eps at worst

  AnalogTileOptions q;
  q.dac_bits = 3;  // 3 levels per sign: 0, 1/3, 2/3, 1
  const AnalogTile t3(tech, gp.topRows(4), gm.topRows(4), q);
  Eigen::MatrixXd xin(4, 1);
  xin << 0.5, -0.2, 0.9, -1.0;
  const Eigen::MatrixXd v = t3.drive_V(xin);
  const double vr = t3.v_read_V();
  CHECK(v(0, 0) == Approx(vr * 2 / 3.0));  // round(1.5) = 2 (half away from zero)
  CHECK(v(1, 0) == Approx(-vr / 3.0));     // round(-0.6) = -1
  CHECK(v(2, 0) == Approx(vr));            // round(2.7) = 3
  CHECK(v(3, 0) == Approx(-vr));
}

TEST_CASE("analog tile: aihwkit's IR-drop approximation - its first-order closed form, its limits, its error", "[pcm][tile]") {
  const auto tech = netlist::load_technology("7nm");
  // A uniform column (every cell G, every input at full scale) with ideal row wires and a small
  // column-wire resistance R: the exact current loss to first order in R is R G^2 V sum_s sum_{k<=s}
  // (n - k + 1) = R G^2 V (n^3/3 + n^2/2 + n/6); aihwkit's is (n^2 R G / 2) G V sum_j (1 - (1 - j/n)^2),
  // the same n^3/3 leading term. At n = 256 they differ by O(1/n): here by 0.6%.
  const int n = 256;
  const double g = 25e-6, r = 0.01;
  AnalogTileOptions o;
  o.r_wordline_ohm = 0, o.r_bitline_ohm = r, o.dac_bits = 0;
  const AnalogTile tile(tech, Eigen::MatrixXd::Constant(n, 1, g), Eigen::MatrixXd::Zero(n, 1), o);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(n, 1);
  const Eigen::MatrixXd v = tile.drive_V(x);
  const double ideal = ideal_column_currents_A(tile.crossbar(), v)(0, 0);
  const double exact = tile.column_currents_A(x)(0, 0);
  const double approx = aihwkit_ir_drop_column_currents_A(tile.crossbar(), v, tile.v_read_V())(0, 0);
  const double first_order = r * g * g * tile.v_read_V() * (std::pow(n, 3) / 3 + n * n / 2.0 + n / 6.0);
  INFO("losses: exact " << ideal - exact << " A, first order " << first_order << " A, aihwkit " << ideal - approx << " A");
  // a = n^2 R G = 0.016: second-order terms are ~a/3 of the first: 0.6%.
  CHECK((ideal - exact) / first_order == Approx(1).epsilon(0.01));
  CHECK((ideal - approx) / (ideal - exact) == Approx(1).epsilon(0.02));
  // No wire: no correction.
  AnalogTileOptions z = o;
  z.r_bitline_ohm = 0;
  const AnalogTile t0(tech, Eigen::MatrixXd::Constant(n, 1, g), Eigen::MatrixXd::Zero(n, 1), z);
  CHECK(aihwkit_ir_drop_column_currents_A(t0.crossbar(), v, t0.v_read_V())(0, 0) == Approx(ideal).epsilon(1e-14));
}

TEST_CASE("analog tile: bad conductances, shapes and inputs are refused", "[pcm][tile]") {
  const auto tech = netlist::load_technology("7nm");
  Eigen::MatrixXd gp = Eigen::MatrixXd::Constant(4, 2, 10e-6), gm = Eigen::MatrixXd::Zero(4, 2);
  gp(1, 1) = 26e-6;
  CHECK_THROWS_WITH(AnalogTile(tech, gp, gm), Catch::Contains("g_plus") && Catch::Contains("outside [0, G_max"));
  gp(1, 1) = 10e-6;
  gm(2, 0) = -1e-9;
  CHECK_THROWS_WITH(AnalogTile(tech, gp, gm), Catch::Contains("g_minus"));
  gm(2, 0) = 0;
  CHECK_THROWS_WITH(AnalogTile(tech, gp, Eigen::MatrixXd::Zero(3, 2)), Catch::Contains("equal shapes"));
  const AnalogTile t(tech, gp, gm);
  CHECK_THROWS_WITH(t.column_currents_A(Eigen::MatrixXd::Constant(4, 1, 1.5)), Catch::Contains("[-1, 1]"));
  CHECK_THROWS_WITH(t.column_currents_A(Eigen::MatrixXd::Zero(3, 1)), Catch::Contains("rows"));
  AnalogTileOptions o;
  o.dac_bits = 1;
  CHECK_THROWS_WITH(AnalogTile(tech, gp, gm, o), Catch::Contains("dac_bits"));
}

TEST_CASE("analog tile: solves are read-only - threads sharing one tile get the serial result", "[pcm][tile]") {
  const auto tech = netlist::load_technology("7nm");
  Eigen::MatrixXd gp, gm;
  random_pairs(48, 16, 8, gp, gm);
  const AnalogTile tile(tech, gp, gm);
  const Eigen::MatrixXd x = random_inputs(48, 32, 9);
  const Eigen::MatrixXd left = tile.column_currents_A(x.leftCols(16)), right = tile.column_currents_A(x.rightCols(16));
  Eigen::MatrixXd a, b;
  std::thread ta([&] { a = tile.column_currents_A(x.leftCols(16)); });
  std::thread tb([&] { b = tile.column_currents_A(x.rightCols(16)); });
  ta.join(), tb.join();
  // The same blocks solved serially: the same operations on the same factor, bit-identical.
  CHECK(a == left);
  CHECK(b == right);
  // And the 32-vector block agrees with the two halves to rounding.
  const Eigen::MatrixXd whole = tile.column_currents_A(x);
  CHECK((whole.leftCols(16) - left).cwiseAbs().maxCoeff() <= 1e-12 * left.cwiseAbs().maxCoeff());
}
