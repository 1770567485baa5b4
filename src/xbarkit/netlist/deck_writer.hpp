#pragma once
// SPICE deck writer: turns a Crossbar into a standalone ngspice deck. The shipped device models are
// inlined (so `ngspice -b deck.cir` runs anywhere and golden decks are self-contained); a user
// library is .include'd by absolute path and its OSDI files are loaded with pre_osdi.
#include <string>
#include <string_view>

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

// Node names of one line of an array. A line with zero resistance per segment is an ideal wire: all
// its nodes merge into the node it is driven from (`merged`).
struct Line {
  std::string prefix;  // e.g. "bl"
  std::string merged;  // node every tap merges into when the wire is ideal
  bool ideal = false;
  std::string node(int i, int j) const;
};

// What a cell kind's write_array() writes with: the crossbar, the deck text so far, and the
// primitives every kind shares (the deck's naming conventions live here, once).
class DeckContext {
public:
  DeckContext(const Crossbar& x, std::string& out) : x(x), out_(out) {}
  const Crossbar& x;

  void text(std::string_view s) { out_ += s; }
  void resistor(const std::string& name, const std::string& a, const std::string& b, double r_ohm);
  // The 0 V sense source of column j from node `from` to node `to` (current from -> to reads positive).
  void sense_source(int j, const std::string& from, const std::string& to);
  // Wordline of row i driven at v from column 0, r_wordline per segment (RWL<i>_<c>, driver VWL<i>).
  Line wordline(int i, double v_V);
  // A line along column j from node(0, j) down to node(rows-1, j), `seg` per segment, with resistors
  // named <name><i>_<j> (i = 1..rows-1). The caller connects its ends.
  void column_segments(const Line& line, int j, const std::string& name, double seg_ohm);
  // Subcircuit names of the shipped (or the user's) devices, as instantiated in the array.
  std::string transistor_subckt() const;
  std::string reram_instance(bool lrs) const;  // "reram_lrs" / "reram_hrs", or the user's with gap=

private:
  std::string& out_;
};

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
