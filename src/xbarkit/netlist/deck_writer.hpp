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

// Name of the 0 V source through which column j's current is sensed, and the ngspice vector that
// holds its current after an operating point.
std::string sense_source_name(int col);
std::string sense_vector_name(int col);

}  // namespace xbarkit::netlist
