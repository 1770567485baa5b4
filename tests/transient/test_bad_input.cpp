// Read transients refuse what they cannot simulate, naming the file and key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/session.hpp"
#include "xbarkit/transient/read.hpp"

using namespace xbarkit;

namespace {

// The shipped technology with one line removed, written next to the test's temp dir.
std::filesystem::path tech_without(const std::string& key_line_prefix, const std::string& name) {
  const auto text = read_text_file(models_dir() / "tech" / "7nm.toml");
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line))
    if (line.rfind(key_line_prefix, 0) != 0) out += line + "\n";
  const auto dir = std::filesystem::temp_directory_path() / "xbarkit_transient_bad_input";
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".toml");
  std::ofstream(path) << out;
  return path;
}

}  // namespace

TEST_CASE("read transient: a technology without a capacitance names the key", "[transient]") {
  for (const auto& [prefix, key, kind] : {std::tuple{std::string("cj = "), std::string("finfet.cj"), std::string("sram8t")},
                                          std::tuple{std::string("c_cell = "), std::string("reram.c_cell"), std::string("rram1t1r")},
                                          std::tuple{std::string("c_mtj = "), std::string("mram1t1mtj.c_mtj"), std::string("mram1t1mtj")},
                                          std::tuple{std::string("c_wordline = "), std::string("sram8t.c_wordline"), std::string("sram8t")},
                                          std::tuple{std::string("c_bitline = "), std::string("rram1t1r.c_bitline"), std::string("rram1t1r")},
                                          std::tuple{std::string("r_driver = "), std::string("read.r_driver"), std::string("passive")}}) {
    const auto path = tech_without(prefix, "no_" + key);
    INFO(key);
    // A [read] table without one of its keys fails when the technology loads; a missing device or
    // wire capacitance only when a transient needs it (DC analyses never do).
    bool loaded = false;
    try {
      const auto tech = netlist::load_technology(path.string());
      loaded = true;
      auto x = netlist::make_crossbar(tech, kind, 4, 4);
      CHECK_NOTHROW(netlist::write_deck(x));
      transient::read_native(x);
      FAIL("expected an InputError");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find(key) != std::string::npos);
      CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
    }
    CHECK(loaded == (key != "read.r_driver"));
  }
}

TEST_CASE("read transient: DC decks are unchanged by the capacitances - the .tran deck carries them", "[transient]") {
  const auto tech = netlist::load_technology("7nm");
  auto x = netlist::make_crossbar(tech, "sram8t", 4, 4);
  netlist::fill_random_inputs(x, 0.5, 3);
  const auto dc = netlist::write_deck(x);
  CHECK(dc.find("CWL") == std::string::npos);
  CHECK(dc.find(".op") != std::string::npos);
  netlist::DeckOptions o;
  o.tran = netlist::DeckOptions::Tran{1e-10, 1e-12};
  const auto tr = netlist::write_deck(x, o);
  CHECK(tr.find(".tran") != std::string::npos);
  CHECK(tr.find(".op\n") == std::string::npos);
  CHECK(tr.find("mvs_gate_charge") != std::string::npos);
  CHECK(tr.find("RDRV0") != std::string::npos);
  // One wordline tap capacitor and gate charge per cell, one bitline/internal/source-line C per cell.
  auto count = [&](const std::string& prefix) {
    const std::regex re("\n" + prefix + "[0-9]+_[0-9]+ ");
    return std::distance(std::sregex_iterator(tr.begin(), tr.end(), re), std::sregex_iterator());
  };
  CHECK(count("CWL") == 16);
  CHECK(count("XQ") == 16);
  CHECK(count("CB") == 16);
  CHECK(count("CI") == 16);
  CHECK(count("CS") == 16);
}

TEST_CASE("read transient: a window too short to settle is reported - not a silent latency", "[transient]") {
  const auto tech = netlist::load_technology("7nm");
  auto x = netlist::make_crossbar(tech, "sram8t", 4, 4);
  std::fill(x.inputs.begin(), x.inputs.end(), 1);
  std::fill(x.weights.begin(), x.weights.end(), 1);
  transient::ReadOptions o;
  o.window_s = 15e-12;  // shorter than the 20 ps driver ramp
  const auto r = transient::read_native(x, o);
  CHECK_FALSE(r.all_settled());
  CHECK(std::isnan(r.read_latency_s));
  const auto report = r.unsettled_report();
  REQUIRE(report.size() == 4);
  // Each unsettled column by its index, with how far it got: its current at the window's end and
  // how much it still moved over the window's last fifth (absolute and as a share of the end value).
  for (size_t j = 0; j < report.size(); ++j) {
    INFO(report[j]);
    CHECK(report[j].find(fmt::format("column {} did not settle within", j)) != std::string::npos);
    CHECK(report[j].find("still moved by") != std::string::npos);
    CHECK(report[j].find("%") != std::string::npos);
    CHECK(r.tail_drift_A[j] > 0.005 * std::abs(r.final_current_A[j]));  // more than half the 1% band
  }
  CHECK(std::isnan(r.settle_s[0]));
  // The energy is then over the whole window (never up to a silent latency).
  CHECK(r.read_energy_J > 0);
}

TEST_CASE("read transient: ngspice's too-short window is reported the same way", "[transient][ngspice]") {
  const auto tech = netlist::load_technology("7nm");
  auto x = netlist::make_crossbar(tech, "sram8t", 4, 4);
  std::fill(x.inputs.begin(), x.inputs.end(), 1);
  std::fill(x.weights.begin(), x.weights.end(), 1);
  transient::ReadOptions o;
  o.window_s = 15e-12;  // shorter than the 20 ps driver ramp
  spice::Session session;
  const auto r = transient::read_ngspice(session, x, o);
  CHECK_FALSE(r.all_settled());
  CHECK(std::isnan(r.read_latency_s));
  const auto report = r.unsettled_report();
  REQUIRE(report.size() == 4);
  for (size_t j = 0; j < report.size(); ++j) {
    INFO(report[j]);
    CHECK(report[j].find(fmt::format("column {} did not settle within", j)) != std::string::npos);
    CHECK(std::isnan(r.settle_s[j]));
    CHECK(r.tail_drift_A[j] > 0.005 * std::abs(r.final_current_A[j]));
  }
}
