// The read-transient decks' fast MVS formulation (models/spice/mvs_nfet_tran.lib: auxiliary nodes
// for FF, Qix/cg and vds/vdsat) is the function of the DC decks' mvs_nfet.lib.
#include <catch2/catch.hpp>

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/session.hpp"
#include "xbarkit/transient/read.hpp"

using namespace xbarkit;

namespace {

// Current into the drain terminal of one 2-fin transistor (flavour subcircuit of the technology)
// with `lib` as its MVS library, at V(d), V(g), V(s).
double drain_current(spice::Session& s, const std::filesystem::path& lib, const netlist::FinfetParams& p, double vd,
                     double vg, double vs) {
  s.load(fmt::format("mvs formulation check\n.include {}\n{}VD d 0 {}\nVG g 0 {}\nVS s 0 {}\nX1 d g s nfet_{} nfin=2\n"
                     ".options reltol=1e-9 vntol=1e-12 abstol=1e-18\n.op\n.end\n",
                     lib.string(), netlist::finfet_flavour_subckt(p), vd, vg, vs, p.flavour));
  return -s.run_op({"vd#branch"}).values.at("vd#branch");
}

}  // namespace

TEST_CASE("MVS transient formulation equals mvs_nfet.lib (both directions, sub- and above threshold)", "[transient][ngspice]") {
  const auto tech = netlist::load_technology("7nm");
  const auto dc_lib = tech.finfet_spice_lib;
  const auto tran_lib = dc_lib.parent_path() / (dc_lib.stem().string() + "_tran.lib");
  REQUIRE(std::filesystem::exists(tran_lib));
  spice::Session s;
  int n = 0;
  for (const auto& [flavour, p] : tech.finfets)
    for (double vg : {0.0, 0.3, 0.5, 0.7})
      for (double vd : {-0.3, -0.02, 0.0, 0.01, 0.1, 0.7})
        for (double vs : {0.0, 0.05}) {
          const double a = drain_current(s, dc_lib, p, vd, vg, vs), b = drain_current(s, tran_lib, p, vd, vg, vs);
          INFO(flavour << " vg " << vg << " vd " << vd << " vs " << vs << ": " << a << " vs " << b);
          // Same equations, different operation order and Newton path: both solve the internal
          // nodes to reltol 1e-9 (ngspice's convergence test), so the currents agree to ~1e-8;
          // 1e-6 relative (or 1e-20 A near Vds = 0) leaves two decades of margin.
          CHECK(std::abs(a - b) <= 1e-6 * std::abs(a) + 1e-20);
          ++n;
        }
  CHECK(n == 48 * static_cast<int>(tech.finfets.size()));
}

TEST_CASE("read transient: a column subset gives exactly those columns' settling and energy", "[transient]") {
  // Columns of a ladder array are independent networks once the wordline waveform is known, so
  // integrating only some of them must reproduce their results bit for bit (same steps, same
  // arithmetic); only the array-level quantities (latency, the end of the energy integral) refer
  // to the subset, so the waveforms and settling times are compared, not the integrated energies.
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "sram8t", 24, 24);
  netlist::fill_random_inputs(x, 0.5, 5);
  netlist::fill_random_weights(x, 0.5, 5);
  transient::ReadOptions o;
  o.window_s = transient::auto_window(x);
  const auto full = transient::read_native(x, o);
  o.columns = transient::spread_columns(x.cols, 6);
  REQUIRE(o.columns == std::vector<int>{0, 5, 9, 14, 18, 23});
  const auto part = transient::read_native(x, o);
  REQUIRE(part.column_index == o.columns);
  REQUIRE(part.columns.size() == 6);
  REQUIRE(full.all_settled());
  REQUIRE(part.all_settled());
  for (size_t i = 0; i < o.columns.size(); ++i) {
    const auto j = static_cast<size_t>(o.columns[i]);
    CHECK(part.settle_s[i] == full.settle_s[j]);
    CHECK(part.final_current_A[i] == full.final_current_A[j]);
    CHECK(part.columns[i].y == full.columns[j].y);
  }
  CHECK(part.read_latency_s <= full.read_latency_s);
  CHECK(part.wordline_energy_per_row_J > 0);
  CHECK(transient::spread_columns(8, 0).size() == 8);
  CHECK(transient::spread_columns(8, 20).size() == 8);
  CHECK(transient::spread_columns(8, 1) == std::vector<int>{7});
  o.columns = {3, 3};
  CHECK_THROWS_WITH(transient::read_native(x, o), Catch::Contains("increasing order"));
  o.columns = {24};
  CHECK_THROWS_WITH(transient::read_native(x, o), Catch::Contains("column 24 is outside"));
}

TEST_CASE("read transient: the single-source and auxiliary-node MVS decks give the same read", "[transient][ngspice]") {
  // The two formulations (DeckOptions::Tran::mvs_auxiliary_nodes) evaluate the same equations, so
  // ngspice's read of one array should not depend on which one the deck uses beyond its own local
  // error control (bound 1e-3 of the latency). At reltol 1e-6 the single-source deck of this array
  // stops with ngspice's "Timestep too small" at t = 7 fs (its expanded FF derivatives at the ramp's
  // start), so the option is for the 64x64 benchmark at the tests' reltol 1e-5.
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "sram8t", 6, 6);
  netlist::fill_random_inputs(x, 0.5, 4);
  netlist::fill_random_weights(x, 0.5, 4);
  spice::Session s;
  transient::ReadOptions o;
  o.window_s = transient::auto_window(x);
  o.ngspice_reltol = 1e-5;  // the 16x16 / 32x32 agreement tests' and the 64x64 benchmark's settings
  o.output_points = 50;
  const auto aux = transient::read_ngspice(s, x, o);
  o.ngspice_mvs_auxiliary_nodes = false;
  const auto single = transient::read_ngspice(s, x, o);
  REQUIRE(aux.all_settled());
  REQUIRE(single.all_settled());
  CHECK(std::abs(single.read_latency_s - aux.read_latency_s) <= 1e-3 * aux.read_latency_s);
  CHECK(std::abs(single.read_energy_J - aux.read_energy_J) <= 1e-3 * aux.read_energy_J);
  for (size_t j = 0; j < aux.settle_s.size(); ++j) CHECK(std::abs(single.settle_s[j] - aux.settle_s[j]) <= 1e-3 * aux.read_latency_s);
  // The decks do differ: the single-source one instantiates the gate charge without its auxiliary
  // FF node and inlines mvs_nfet.lib, not mvs_nfet_tran.lib.
  netlist::DeckOptions d;
  d.tran = netlist::DeckOptions::Tran{o.window_s, o.window_s / 50, 1e-5, false};
  const auto single_deck = netlist::write_deck(x, d);
  d.tran->mvs_auxiliary_nodes = true;
  const auto aux_deck = netlist::write_deck(x, d);
  CHECK(single_deck.find("Xq g mvs_gate_charge_1src") != std::string::npos);
  CHECK(aux_deck.find("Xq g mvs_gate_charge ") != std::string::npos);
  CHECK(single_deck.size() != aux_deck.size());
}
