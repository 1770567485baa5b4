#pragma once
// A read transient of a Crossbar in ngspice (issue 19): the .tran deck of deck_writer (capacitances,
// driver ramps), run in this process's Session; the raw waveforms come back at ngspice's own time
// points (its TMAX bounds their spacing).
#include <string>
#include <utility>
#include <vector>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::spice {

struct CrossbarTran {
  std::vector<double> t;
  std::vector<std::vector<double>> sense_A;  // per column: i(VSENSE<j>), positive when it conducts
  // Per independent source with a grounded negative node: the power it delivers, -v(n+) * i(V).
  std::vector<std::pair<std::string, std::vector<double>>> source_power_W;
  double elapsed_s = 0;  // load + transient
};

// The deck text (for users who rerun it: `ngspice -b deck.cir`).
// reltol: ngspice's relative tolerance (its trapezoidal LTE control scales with it).
// mvs_auxiliary_nodes: netlist::DeckOptions::Tran::mvs_auxiliary_nodes.
std::string tran_deck(const netlist::Crossbar& xbar, double t_stop_s, double t_max_step_s, double reltol = 1e-6,
                      bool mvs_auxiliary_nodes = true);

CrossbarTran run_crossbar_tran(Session& session, const netlist::Crossbar& xbar, double t_stop_s, double t_max_step_s,
                               double reltol = 1e-6, bool mvs_auxiliary_nodes = true);

}  // namespace xbarkit::spice
