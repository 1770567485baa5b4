// Shipped device models in ngspice against the published check values (docs/REFERENCES.md §§1, 3).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/device_checks.hpp"
#include "xbarkit/spice/session.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {

// Drain current of one transistor of `flavour` (1 fin) at the given gate and drain voltages.
double drain_current(spice::Session& s, const std::string& flavour, double vg, double vd) {
  s.load(fmt::format("one fin\n.include {}\nVD d 0 {}\nVG g 0 {}\nX1 d g 0 nfet_{} nfin=1\n"
                     ".options reltol=1e-7 vntol=1e-10 abstol=1e-15\n.op\n.end\n",
                     (models_dir() / "spice" / "finfet_7nm.lib").string(), vd, vg, flavour));
  return -s.run_op({"vd#branch"}).values.at("vd#branch");
}

// One cell, ideal wires: the crossbar path itself, so the deck writer's wiring is checked too.
double single_cell(spice::Session& s, std::string kind, double v_read, bool bit) {
  auto x = make_crossbar(load_technology("7nm"), kind, 1, 1);
  x.parasitics = {};
  x.v_read_V = v_read;
  x.inputs = {1};
  x.weights = {static_cast<uint8_t>(bit)};
  return spice::solve_crossbar(s, x).column_current_A.at(0);
}

}  // namespace

// "Within 1%" is the foundation issue's requirement (DeviceCheck::tolerance); the MVS fit lands
// within 0.1% of Idsat and 0.5% of the 8T stack values, so 1% still catches a wrong parameter.
TEST_CASE("shipped devices reproduce their published check values within 1%", "[spice][mvs][reram]") {
  spice::Session s;
  const auto checks = spice::run_device_checks(s, load_technology("7nm"));
  REQUIRE(checks.size() == 9);  // 2 flavours x (Idsat, Ioff), 3 stack points, LRS and HRS
  for (const auto& c : checks) {
    INFO(c.name << ": " << c.value_A << " A vs " << c.reference_A << " A");
    CHECK(c.passed());
  }
}

TEST_CASE("MVS FinFET is symmetric in drain and source", "[spice][mvs]") {
  spice::Session s;
  // Swapping the roles of drain and source with the gate 0.7 V above the lower terminal must
  // reverse the current exactly: V(d)=-0.3 with gate at 0.4 mirrors V(d)=+0.3 with gate at 0.7.
  const double fwd = drain_current(s, "rvt", 0.7, 0.3);
  s.load(fmt::format("rev\n.include {}\nVD d 0 0.3\nVG g 0 0.7\nX1 0 g d nfet_rvt nfin=1\n"
                     ".options reltol=1e-7 vntol=1e-10 abstol=1e-15\n.op\n.end\n",
                     (models_dir() / "spice" / "finfet_7nm.lib").string()));
  const double rev = s.run_op({"vd#branch"}).values.at("vd#branch");
  // VD now feeds the device's source terminal: the same current leaves VD's + terminal, so the
  // branch current is -fwd. Without the symmetric swap the model would give garbage at Vds < 0.
  CHECK(-rev == Approx(fwd).epsilon(1e-6));
}

TEST_CASE("a stored 0 cuts the 8T read stack off", "[spice][mvs][sram8t]") {
  spice::Session s;
  // NMOS B off: the stack leaks at the 1 pA-per-fin SRAM-VT Ioff scale, 6 orders below a read.
  CHECK(single_cell(s, "sram8t", 0.3, false) < 1e-11);
}

TEST_CASE("Stanford ReRAM alone: ~10 kohm LRS and ~100 kohm HRS at 0.2 V", "[spice][reram]") {
  spice::Session s;
  auto x = make_crossbar(load_technology("7nm"), "passive", 1, 1);
  x.params.choices["passive_cell"] = "reram";
  x.parasitics = {};
  x.v_read_V = 0.2;
  x.inputs = {1};
  x.weights = {1};
  const double i_lrs = spice::solve_crossbar(s, x).column_current_A[0];
  x.weights = {0};
  const double i_hrs = spice::solve_crossbar(s, x).column_current_A[0];
  // Closed form: I = i0 exp(-g/g0) sinh(V/v0); the "~10k / ~100k" of docs/REFERENCES.md are rounded.
  CHECK(i_lrs == Approx(1e-3 * std::exp(-0.948 / 0.25) * std::sinh(0.8)).epsilon(1e-6));
  CHECK(i_hrs == Approx(1e-3 * std::exp(-1.524 / 0.25) * std::sinh(0.8)).epsilon(1e-6));
  CHECK(0.2 / i_lrs == Approx(10e3).epsilon(0.01));
  CHECK(0.2 / i_hrs == Approx(100e3).epsilon(0.02));
}

TEST_CASE("a user model library replaces the shipped transistor", "[spice][models]") {
  // The user's library wraps the shipped SRAM-VT flavour under another name, so the array must give
  // the shipped currents to solver precision while the deck no longer inlines the shipped models.
  const auto dir = std::filesystem::temp_directory_path() / "xbarkit_user_models";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "user.lib") << ".include " << (models_dir() / "spice" / "finfet_7nm.lib").string()
                                  << "\n.subckt my_nfet d g s nfin=1\nXu d g s nfet_sramvt nfin={nfin}\n.ends\n";
  auto x = make_crossbar(load_technology("7nm"), "sram8t", 3, 2);
  x.inputs = {1, 1, 0};
  x.weights = {1, 0, 1, 1, 1, 1};
  spice::Session s;
  const auto shipped = spice::solve_crossbar(s, x).column_current_A;
  x.user_models = UserModels{dir / "user.lib", {}, "my_nfet", ""};
  const auto deck = write_deck(x);
  CHECK(deck.find("my_nfet") != std::string::npos);
  CHECK(deck.find(".subckt mvs_nfet") == std::string::npos);
  const auto user = spice::solve_crossbar(s, x).column_current_A;
  for (size_t j = 0; j < 2; ++j) CHECK(user[j] == Approx(shipped[j]).epsilon(1e-9));
}
