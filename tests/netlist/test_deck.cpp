// Deck writer: golden decks, node merging for ideal wires, and the shipped flavour library.
#include <catch2/catch.hpp>

#include <filesystem>

#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

TEST_CASE("golden decks regenerate byte-identically from their recipes", "[deck][golden]") {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() / "netlists")) {
    if (entry.path().extension() != ".toml") continue;
    auto golden = entry.path();
    golden.replace_extension(".cir");
    if (!std::filesystem::exists(golden)) continue;
    INFO(golden.string() << " (regenerate with: build/xbarkit netlist " << entry.path().filename().string()
                         << " -o " << golden.filename().string() << ", run from netlists/)");
    const auto recipe = load_crossbar_recipe(entry.path());
    DeckOptions options;
    options.title = entry.path().filename().string();
    CHECK(write_deck(recipe.crossbar, options) == read_text_file(golden));
    ++checked;
  }
  CHECK(checked >= 3);  // one per cell kind at least
}

TEST_CASE("models/spice/finfet_7nm.lib is what the technology file generates", "[deck][golden]") {
  INFO("regenerate with: build/xbarkit models spice-lib 7nm -o models/spice/finfet_7nm.lib");
  CHECK(finfet_flavour_library(load_technology("7nm")) ==
        read_text_file(models_dir() / "spice" / "finfet_7nm.lib"));
}

TEST_CASE("ideal wires merge nodes instead of writing zero-ohm resistors", "[deck]") {
  for (auto kind : {"sram8t", "rram1t1r", "passive"}) {
    auto x = make_crossbar(load_technology("7nm"), kind, 3, 2);
    x.inputs = {1, 0, 1};
    x.weights = {1, 1, 0, 1, 1, 0};
    const auto ideal = write_deck(x.ideal());
    INFO(kind);
    CHECK(ideal.find("RBL") == std::string::npos);
    CHECK(ideal.find("RSL") == std::string::npos);
    CHECK(ideal.find("RWL") == std::string::npos);
    const auto real = write_deck(x);
    CHECK(real.find("RBL1_0") != std::string::npos);
    CHECK(real.find("VSENSE1 ") != std::string::npos);
  }
}

TEST_CASE("sram8t cells are wired as the read port described in crossbar.hpp", "[deck]") {
  auto x = make_crossbar(load_technology("7nm"), "sram8t", 2, 2);
  x.inputs = {1, 0};
  x.weights = {1, 0, 0, 1};
  const auto deck = write_deck(x);
  // NMOS A: bitline node -> wordline -> internal; NMOS B: internal -> stored bit -> source line.
  CHECK(deck.find("XA0_0 bl0_0 wl0_0 x0_0 nfet_sramvt nfin=1\n") != std::string::npos);
  CHECK(deck.find("XB0_0 x0_0 vdd sl0_0 nfet_sramvt nfin=1\n") != std::string::npos);
  CHECK(deck.find("XB0_1 x0_1 0 sl0_1 nfet_sramvt nfin=1\n") != std::string::npos);
  CHECK(deck.find("VWL0 wd0 0 0.7\n") != std::string::npos);
  CHECK(deck.find("VWL1 wd1 0 0\n") != std::string::npos);
  CHECK(deck.find("VSENSE0 vclamp sn0 0\n") != std::string::npos);
  CHECK(deck.find("RBLS0 bl1_0 sn0 8.3\n") != std::string::npos);
  CHECK(deck.find("RSLG0 sl1_0 0 8.3\n") != std::string::npos);
}
