// 1T-1MTJ magnetoresistive cell (STT/SOT-MRAM read port, as in the MRAM crossbar of Jung et al.,
// "A crossbar array of magnetoresistive memory devices for in-memory computing", Nature 601, 211,
// 2022): an MTJ in series with an access NMOS, arranged like rram1t1r. A stored 1 is the parallel
// (low-resistance) state, a 0 the antiparallel state.
//
// MTJ read I-V: R_P is bias independent; the antiparallel resistance falls with bias as the TMR does,
// TMR(V) = TMR0 / (1 + (V / V_half)^2) (the empirical bias dependence of MgO junctions, e.g. Yuasa
// et al., Nature Mater. 3, 868, 2004), so I(V) = V / (R_P (1 + TMR(V))) for AP and V / R_P for P.
// The same equations go to ngspice (a B-source subcircuit written below) and to the native solver
// (MtjBranch, a netlist::BranchModel), so the engines agree to solver tolerance.
//
// Cell (i, j): MTJ from bitline node (i,j) to the drain of the access NMOS (gate = wordline i,
// source = source-line node (i,j)). Bitline driven at v_read from the top, source line sensed at the
// bottom at 0 V; wordlines drive gates only: a column ladder.
//
// Tech table [mram1t1mtj]: transistor, nfin, r_bitline, r_sourceline, r_wordline, v_read, and
//   r_p      ohm  parallel-state resistance
//   tmr      1    zero-bias tunnel magnetoresistance (R_AP / R_P - 1)
//   v_half   V    bias at which the TMR has halved
// Adding this kind touched only this file, its [mram1t1mtj] table in models/tech/7nm.toml and its
// tests: the demonstration that a cell kind is a plugin (docs/ARCHITECTURE.md).
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {
namespace {

class MtjBranch final : public BranchModel {
public:
  MtjBranch(double r_p, double tmr, double v_half, bool parallel)
      : g_p_(1 / r_p), tmr_(parallel ? 0.0 : tmr), inv_vh2_(1 / (v_half * v_half)) {}
  // I = G_P V / (1 + T(V)), T = tmr / (1 + V^2/Vh^2); dT/dV = -2 tmr V/Vh^2 / (1 + V^2/Vh^2)^2.
  void eval(double v, double& i, double& di_dv) const override {
    const double u = 1 + v * v * inv_vh2_;
    const double t = tmr_ / u, dt = -2 * tmr_ * v * inv_vh2_ / (u * u);
    const double d = 1 + t;
    i = g_p_ * v / d;
    di_dv = g_p_ * (d - v * dt) / (d * d);
  }

private:
  double g_p_, tmr_, inv_vh2_;
};

class Mram1t1mtjCell final : public Cell {
public:
  std::string_view name() const override { return "mram1t1mtj"; }
  std::string_view summary() const override { return "1T-1MTJ magnetoresistive cell (bias-dependent TMR)"; }
  Topology topology() const override { return Topology::column_ladder; }
  bool uses_transistor(const Crossbar&) const override { return true; }
  bool uses_reram(const Crossbar&) const override { return false; }

  ArrayDefaults read_defaults(const TomlSection& t, const Technology& tech) const override {
    auto d = read_common_defaults(t, tech);
    auto positive = [&](const char* key) {
      const double v = t.require_number(key);
      if (!(v > 0) || !std::isfinite(v)) throw t.error(key, fmt::format("must be finite and > 0, got {}", v));
      d.params.numbers[key] = v;
    };
    positive("r_p");
    positive("tmr");
    positive("v_half");
    // c_mtj (F, optional): the junction's own capacitance, read transients only (capacitance.hpp).
    if (t.has("c_mtj")) {
      const double c = t.require_number("c_mtj");
      if (!(c >= 0) || !std::isfinite(c)) throw t.error("c_mtj", fmt::format("must be a finite capacitance >= 0 F, got {}", c));
      d.params.numbers["c_mtj"] = c;
    }
    t.reject_unknown_keys();
    return d;
  }

  void validate(const Crossbar& x, const std::string& origin) const override {
    Cell::validate(x, origin);
    for (const char* key : {"r_p", "tmr", "v_half"})
      if (!(x.params.number(key) > 0)) throw InputError(origin, key, fmt::format("must be > 0, got {}", x.params.number(key)));
  }

  void write_array(DeckContext& d) const override {
    const Crossbar& x = d.x;
    const double rp = x.params.number("r_p"), tmr = x.params.number("tmr"), vh = x.params.number("v_half");
    d.text(fmt::format(".subckt mtj_p p n\nB1 p n I=V(p,n)/{}\n.ends mtj_p\n", rp));
    d.text(fmt::format(".subckt mtj_ap p n\nB1 p n I=V(p,n)/({}*(1+{}/(1+V(p,n)*V(p,n)/({}*{}))))\n.ends mtj_ap\n", rp,
                       tmr, vh, vh));
    d.one_transistor_one_resistor_array("XM", [&](int i, int j) { return x.weight(i, j) ? "mtj_p" : "mtj_ap"; });
  }

  LadderCellSpec ladder_cell(const Crossbar& x, bool input, bool weight) const override {
    LadderCellSpec c;
    c.e1.kind = BranchSpec::Kind::custom;
    c.e1.custom = std::make_shared<MtjBranch>(x.params.number("r_p"), x.params.number("tmr"),
                                              x.params.number("v_half"), weight);
    c.e2.kind = BranchSpec::Kind::transistor;
    c.e2.gate_V = input ? x.vdd_V : 0.0;
    return c;
  }
  LadderRails ladder_rails(const Crossbar& x) const override { return {true, x.v_read_V, 0.0}; }

  // As rram1t1r, with the MTJ's tunnel-barrier capacitance (c_mtj) between bitline and access drain.
  LadderCellCaps ladder_cell_caps(const Crossbar& x) const override {
    const auto t = transistor_caps(x);
    LadderCellCaps c;
    const auto it = x.params.numbers.find("c_mtj");
    c.bitline_internal_F = require_capacitance(it == x.params.numbers.end() ? kNotGiven : it->second, x.technology_file,
                                               "mram1t1mtj.c_mtj", "the MTJ capacitance");
    c.internal_F = t.junction_F + t.overlap_F;
    c.sourceline_F = t.junction_F + t.overlap_F;
    c.wordline_F = 2 * t.overlap_F;
    c.gate_fins = x.nfin;
    c.wordline_branch = 2;
    return c;
  }

  // Antiparallel cells on active rows conduct 1 / (1 + TMR) of a parallel one: the hrs axis counts them.
  std::vector<std::string> default_array_ps_axes() const override { return {"k", "q", "hrs"}; }
  std::string array_ps_axes_reason() const override {
    return "columns decouple; IR-drop load q as for rram1t1r; active antiparallel cells still conduct (hrs)";
  }
  RailLoadWeights rail_load_weights(const Crossbar& x) const override { return top_fed_bitline_rails(x); }
};

}  // namespace
}  // namespace xbarkit::netlist

XBARKIT_REGISTER_CELL(mram1t1mtj, Mram1t1mtjCell)
