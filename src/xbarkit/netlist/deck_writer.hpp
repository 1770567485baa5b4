#pragma once
// SPICE deck writer: turns a Crossbar into a standalone ngspice deck. The shipped device models are
// inlined (so `ngspice -b deck.cir` runs anywhere and golden decks are self-contained); a user
// library is .include'd by absolute path and its OSDI files are loaded with pre_osdi.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::netlist {

struct DeckOptions {
  std::string title = "xbarkit crossbar";
  // Tight enough that engine comparisons measure the solvers, not ngspice's stopping rule.
  double reltol = 1e-7;
  double vntol = 1e-10;
  double abstol = 1e-15;
  bool op = true;  // emit ".op" so the deck runs as is in batch mode
  // Read transient (issue 19): with `tran`, the deck also carries every capacitance of the circuit
  // description (netlist/capacitance.hpp), wordline (row) drivers become a ramp behind r_driver,
  // and it ends in ".tran" instead of ".op". Without it the deck is the DC deck, byte for byte.
  struct Tran {
    double t_stop_s = 0;
    double t_max_step_s = 0;  // ngspice's TMAX: also bounds the output spacing used for settling
    double reltol = 1e-6;     // trapezoidal LTE control (trtol default) at this reltol
    // MVS transistors and gate charges with FF (and Qix/cg, vds/vdsat) on auxiliary nodes
    // (mvs_nfet_tran.lib, mvs_gate_charge): cheaper device loads, more matrix fill-in; the faster
    // form up to 32x32 arrays. false: the single-source forms (mvs_nfet.lib, mvs_gate_charge_1src),
    // the faster at 64x64. The same equations either way (tests/transient/test_formulation.cpp).
    bool mvs_auxiliary_nodes = true;
  };
  std::optional<Tran> tran;
};

// Name of the driver source of row i in a transient deck (the DC deck's VWL<i>/VROW<i>), and of the
// MVS intrinsic gate-charge subcircuit of a transistor flavour.
std::string gate_charge_subckt(const FinfetParams& p, bool auxiliary_nodes = true);

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
  DeckContext(const Crossbar& x, std::string& out, bool transient = false) : x(x), out_(out), transient_(transient) {}
  const Crossbar& x;
  // A read-transient deck (DeckOptions::tran): cells add their capacitances (ladder_caps/grid_caps).
  bool transient() const { return transient_; }
  // The driver of row i at node `node`: DC deck "<source> <node> 0 <v>"; transient deck a 0 -> v
  // ramp of t_slew at node w<node> behind RDRV<i> (r_driver) into `node`.
  void row_driver(const std::string& source, const std::string& node, int i, double v_V);
  // Transient decks: the capacitances of ladder cell (i, j) (its kind's ladder_cell_caps plus the
  // bitline/source-line wire capacitance at its taps; lines that are ideal are held by a source
  // and get none), and of grid cell (i, j) between row node and column node.
  void ladder_caps(int i, int j, const Line& bl, const std::string& mid, const Line& sl);
  void grid_caps(int i, int j, const Line& row, const Line& col);

  void text(std::string_view s) { out_ += s; }
  void resistor(const std::string& name, const std::string& a, const std::string& b, double r_ohm);
  // The 0 V sense source of column j from node `from` to node `to` (current from -> to reads positive).
  void sense_source(int j, const std::string& from, const std::string& to);
  // Wordline of row i driven at v from column 0, r_wordline per segment (RWL<i>_<c>, driver VWL<i>).
  Line wordline(int i, double v_V);
  // A line along column j from node(0, j) down to node(rows-1, j), `seg` per segment, with resistors
  // named <name><i>_<j> (i = 1..rows-1). The caller connects its ends.
  void column_segments(const Line& line, int j, const std::string& name, double seg_ohm);
  // The array of a one-transistor-one-resistive-device kind (1T-1R wiring): bitline j driven at
  // v_read from the top (VBL) through r_bitline per segment, source line down to the sense node at
  // the bottom (0 V); per cell the resistive device from bitline node (i,j) to node m<i>_<j>
  // (`device_instance(i, j)`: the instance's subcircuit and parameters, named <device_prefix><i>_<j>)
  // and the access transistor XT<i>_<j> (drain m<i>_<j>, gate wordline i, source line node; slot 1).
  template <class DeviceInstance>
  void one_transistor_one_resistor_array(const std::string& device_prefix, DeviceInstance&& device_instance);
  // Subcircuit names of the shipped (or the user's) devices, as instantiated in the array.
  std::string transistor_subckt() const;
  std::string reram_instance(bool lrs) const;  // "reram_lrs" / "reram_hrs", or the user's with gap=
  // Per-instance text of device `slot` of cell (i, j) (Crossbar::variation; nominal without it):
  std::string fet_params(int i, int j, int slot) const;                // "nfin=N[ dvt=X]"
  std::string reram_instance(int i, int j, int slot, bool lrs) const;  // reram_instance(lrs) or a varied gap
  double resistance(int i, int j, int slot, double nominal_ohm) const;  // nominal * exp(ln-shift)

private:
  void wordline_caps(int i, const Line& wl);
  std::string& out_;
  bool transient_ = false;
};

template <class DeviceInstance>
void DeckContext::one_transistor_one_resistor_array(const std::string& device_prefix, DeviceInstance&& device_instance) {
  const auto fet = transistor_subckt();
  const double rbl = x.parasitics.r_bitline_ohm, rsl = x.parasitics.r_sourceline_ohm;
  text("VBL vbl 0 " + fmt::format("{}", x.v_read_V) + "\n");
  std::vector<std::pair<Line, Line>> columns;
  for (int j = 0; j < x.cols; ++j) {
    Line bl{"bl", "vbl", rbl == 0};
    Line sl{"sl", fmt::format("sn{}", j), rsl == 0};
    text(fmt::format("* column {}\n", j));
    sense_source(j, fmt::format("sn{}", j), "0");
    const double rblj = rbl * x.variation.bitline_factor(j), rslj = rsl * x.variation.sourceline_factor(j);
    if (!bl.ideal) {
      resistor(fmt::format("RBL0_{}", j), "vbl", bl.node(0, j), rblj);
      column_segments(bl, j, "RBL", rblj);
    }
    if (!sl.ideal) {
      column_segments(sl, j, "RSL", rslj);
      resistor(fmt::format("RSLS{}", j), sl.node(x.rows - 1, j), sl.merged, rslj);
    }
    columns.push_back({bl, sl});
  }
  for (int i = 0; i < x.rows; ++i) {
    text(fmt::format("* row {}\n", i));
    const auto wl = wordline(i, x.input(i) ? x.vdd_V : 0.0);
    for (int j = 0; j < x.cols; ++j) {
      const auto& [bl, sl] = columns[static_cast<size_t>(j)];
      const auto mid = fmt::format("m{}_{}", i, j);
      text(fmt::format("{}{}_{} {} {} {}\n", device_prefix, i, j, bl.node(i, j), mid, device_instance(i, j)));
      text(fmt::format("XT{}_{} {} {} {} {} {}\n", i, j, mid, wl.node(i, j), sl.node(i, j), fet, fet_params(i, j, 1)));
      if (transient()) ladder_caps(i, j, bl, mid, sl);
    }
  }
}

// `.subckt nfet_<flavour> d g s nfin=1` wrapping the MVS equations (mvs_nfet) with one flavour's
// parameters. The technology file is the single source of these numbers.
// With `dvt_param` the subcircuit takes a per-instance threshold shift dvt=0 (variation.hpp).
std::string finfet_flavour_subckt(const FinfetParams& p, bool dvt_param = false);

// models/spice/finfet_7nm.lib-style library: every flavour of `tech` over an .include of the MVS
// equations, for users who want the shipped transistors in their own decks.
std::string finfet_flavour_library(const Technology& tech);

// Name of the 0 V source through which column j's current is sensed, and the ngspice vector that
// holds its current after an operating point.
std::string sense_source_name(int col);
std::string sense_vector_name(int col);

}  // namespace xbarkit::netlist
