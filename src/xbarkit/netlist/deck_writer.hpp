#pragma once
// SPICE deck writer: turns a Crossbar into a standalone ngspice deck. The shipped device models are
// inlined (so `ngspice -b deck.cir` runs anywhere and golden decks are self-contained); a user
// library is .include'd by absolute path and its OSDI files are loaded with pre_osdi.
#include <string>

#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::netlist {

struct DeckOptions {
  std::string title = "xbarkit crossbar";
  // Tight enough that engine comparisons measure the solvers, not ngspice's stopping rule.
  double reltol = 1e-7;
  double vntol = 1e-10;
  double abstol = 1e-15;
  bool op = true;  // emit ".op" so the deck runs as is in batch mode
};

std::string write_deck(const Crossbar& xbar, const DeckOptions& options = {});

// `.subckt nfet_<flavour> d g s nfin=1` wrapping the MVS equations (mvs_nfet) with one flavour's
// parameters. The technology file is the single source of these numbers.
std::string finfet_flavour_subckt(const FinfetParams& p);

// models/spice/finfet_7nm.lib-style library: every flavour of `tech` over an .include of the MVS
// equations, for users who want the shipped transistors in their own decks.
std::string finfet_flavour_library(const Technology& tech);

// Name of the 0 V source through which column j's current is sensed, and the ngspice vector that
// holds its current after an operating point.
std::string sense_source_name(int col);
std::string sense_vector_name(int col);

}  // namespace xbarkit::netlist
