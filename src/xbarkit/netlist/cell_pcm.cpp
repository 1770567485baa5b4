// Passive phase-change-memory (PCM) cross point with an analog conductance per cell, for analog
// inference (Joshi et al., Nat. Commun. 11, 2473, 2020: weights as PCM conductances read by
// voltages on the rows, currents summed on the columns).
//
// Array: as the passive kind (cell_passive.cpp). Row i is driven at v_read (input 1) or 0 V from
// column 0 through r_wordline per segment; the cell joins row node (i,j) and column node (i,j);
// column j runs down with r_bitline per segment to its 0 V sense node. Rows carry current: a grid.
//
// Cell state: Crossbar::state holds each cell's low-field conductance G in S, in [0, g_max] (the
// programmed, drifted or read conductance of the PCM statistical model, xbarkit/pcm/); without a
// state a stored 1 is the SET conductance g_max and a 0 the RESET conductance g_reset.
//
// Read I-V (pcm_iv):
//   "poole_frenkel" (default)  I(V) = G V0 sinh(V / V0)
//   "linear"                   I(V) = G V
// The sinh law is the subthreshold conduction of amorphous chalcogenides by thermally assisted
// hopping between traps (Poole-Frenkel type): D. Ielmini and Y. Zhang, "Analytical model for
// subthreshold conduction and threshold switching in chalcogenide-based memory devices", J. Appl.
// Phys. 102, 054517 (2007), I = 2 q A N_T (dz / tau0) exp(-(E_C - E_F)/kT) sinh(q V dz / (2 kT u_a)),
// i.e. I = G V0 sinh(V / V0) with the low-field conductance G and V0 = 2 kT u_a / (q dz) (u_a the
// amorphous thickness, dz the inter-trap distance): linear (ohmic) below V0, exponential above.
// The read current of a mixed-phase cell is limited by its amorphous region, so the same law with
// one V0 (tech key v0) is applied to every state; v0 = infinity is the ohmic (crystalline) limit.
// The same equation goes to ngspice (one B-source per cell) and to the native solver (PcmBranch,
// a BranchModel), so the engines agree to solver tolerance. "linear" cells are resistors: the
// native solver then factors the nodal matrix once (circuit/passive.hpp), the path the analog tile
// (xbarkit/pcm/analog_tile.hpp) uses.
//
// Tech table [pcm]: r_bitline, r_wordline (ohm per cell), v_read (V), c_bitline, c_wordline, c_cell
// (F, read transients), and
//   g_max    S   conductance of g = 1 (SET state of a stored 1)
//   g_reset  S   RESET conductance of a stored 0 (>= 0)
//   v0       V   Poole-Frenkel voltage scale of the sinh law
// Recipe keys under [array]:
//   pcm_iv          "poole_frenkel" | "linear"
//   pcm_states      "bits" (default: g_max / g_reset from the weights) | "random" (each cell's
//                   conductance uniform in [0, g_max], seeded by pcm_state_seed)
//   pcm_state_seed  integer >= 0 (default 1)
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {
namespace {

// I = G V0 sinh(V / V0), dI/dV = G cosh(V / V0).
class PcmBranch final : public BranchModel {
public:
  PcmBranch(double g_S, double v0_V) : g_(g_S), v0_(v0_V), inv_v0_(1 / v0_V) {}
  void eval(double v, double& i, double& di_dv) const override {
    const double u = v * inv_v0_;
    i = g_ * v0_ * std::sinh(u);
    di_dv = g_ * std::cosh(u);
  }

private:
  double g_, v0_, inv_v0_;
};

bool poole_frenkel(const Crossbar& x) { return x.params.choice("pcm_iv") == "poole_frenkel"; }

class PcmCell final : public Cell {
public:
  std::string_view name() const override { return "pcm"; }
  std::string_view summary() const override {
    return "passive PCM cross point: analog conductance, Poole-Frenkel (sinh) or linear read I-V";
  }
  Topology topology() const override { return Topology::grid; }
  bool uses_transistor(const Crossbar&) const override { return false; }
  bool uses_reram(const Crossbar&) const override { return false; }
  bool analog_state() const override { return true; }
  std::string_view state_unit() const override { return "S"; }

  ArrayDefaults read_defaults(const TomlSection& t, const Technology& tech) const override {
    auto d = read_common_defaults(t, tech);
    const double g_max = t.require_number("g_max");
    if (!(g_max > 0) || !std::isfinite(g_max)) throw t.error("g_max", fmt::format("must be a finite conductance > 0 S, got {}", g_max));
    const double g_reset = t.require_number("g_reset");
    if (!(g_reset >= 0 && g_reset <= g_max))
      throw t.error("g_reset", fmt::format("must be a conductance in [0, g_max = {}] S, got {}", g_max, g_reset));
    const double v0 = t.require_number("v0");
    if (!(v0 > 0)) throw t.error("v0", fmt::format("must be a voltage > 0 V (inf: ohmic), got {}", v0));
    d.params.numbers["g_max"] = g_max;
    d.params.numbers["g_reset"] = g_reset;
    d.params.numbers["v0"] = v0;
    d.params.choices["pcm_iv"] = "poole_frenkel";
    // c_cell (F, optional): the cell's own capacitance between row and column, read transients only
    // (capacitance.hpp).
    if (t.has("c_cell")) {
      const double c = t.require_number("c_cell");
      if (!(c >= 0) || !std::isfinite(c)) throw t.error("c_cell", fmt::format("must be a finite capacitance >= 0 F, got {}", c));
      d.params.numbers["c_cell"] = c;
    }
    t.reject_unknown_keys();
    return d;
  }

  void apply_recipe_keys(const TomlSection& array, Crossbar& x) const override {
    if (auto iv = array.string("pcm_iv")) {
      if (*iv != "poole_frenkel" && *iv != "linear")
        throw array.error("pcm_iv", fmt::format("unknown '{}' (poole_frenkel | linear)", *iv));
      x.params.choices["pcm_iv"] = *iv;
    }
    const auto seed = array.integer("pcm_state_seed").value_or(1);
    if (seed < 0) throw array.error("pcm_state_seed", fmt::format("must be >= 0, got {}", seed));
    const auto states = array.string("pcm_states").value_or("bits");
    if (states == "random") {
      Rng rng(static_cast<uint64_t>(seed), 0x70636dULL);  // "pcm"
      x.state.resize(static_cast<size_t>(x.rows) * x.cols);
      for (auto& g : x.state) g = x.params.number("g_max") * rng.uniform();
    } else if (states != "bits") {
      throw array.error("pcm_states", fmt::format("unknown '{}' (bits | random)", states));
    }
  }

  void validate(const Crossbar& x, const std::string& origin) const override {
    const auto& iv = x.params.choice("pcm_iv");
    if (iv != "poole_frenkel" && iv != "linear")
      throw InputError(origin, "array.pcm_iv", fmt::format("unknown '{}' (poole_frenkel | linear)", iv));
    const double g_max = x.params.number("g_max");
    if (!(x.params.number("v0") > 0)) throw InputError(origin, "pcm.v0", "must be > 0 V");
    if (!x.variation.empty())
      throw InputError(origin, "variation",
                       "pcm cells take their device-to-device spread from the PCM statistical model (xbarkit/pcm: "
                       "programming noise, drift, read noise), not from [variation]; remove [variation]");
    for (size_t k = 0; k < x.state.size(); ++k)
      if (!(x.state[k] >= 0 && x.state[k] <= g_max))
        throw InputError(origin, "state",
                         fmt::format("cell ({}, {}) has conductance {} S; PCM conductances must lie in [0, g_max = {}] S",
                                     k / static_cast<size_t>(x.cols), k % static_cast<size_t>(x.cols), x.state[k], g_max));
  }

  static double conductance(const Crossbar& x, bool weight, const double* state) {
    if (state) return *state;
    return x.params.number(weight ? "g_max" : "g_reset");
  }

  void write_array(DeckContext& d) const override {
    const Crossbar& x = d.x;
    const double rwl = x.parasitics.r_wordline_ohm, rbl = x.parasitics.r_bitline_ohm;
    const bool pf = poole_frenkel(x);
    const double v0 = x.params.number("v0");
    std::vector<Line> cols;
    for (int j = 0; j < x.cols; ++j) {
      Line col{"c", fmt::format("sn{}", j), rbl == 0};
      d.text(fmt::format("* column {}\n", j));
      d.sense_source(j, fmt::format("sn{}", j), "0");
      if (!col.ideal) {
        d.column_segments(col, j, "RBL", rbl);
        d.resistor(fmt::format("RBLS{}", j), col.node(x.rows - 1, j), col.merged, rbl);
      }
      cols.push_back(col);
    }
    for (int i = 0; i < x.rows; ++i) {
      d.text(fmt::format("* row {}\n", i));
      Line row{"r", fmt::format("rd{}", i), rwl == 0};
      d.row_driver(fmt::format("VROW{}", i), fmt::format("rd{}", i), i, x.input(i) ? x.v_read_V : 0.0);
      if (!row.ideal)
        for (int c = 0; c < x.cols; ++c)
          d.resistor(fmt::format("RWL{}_{}", i, c), c == 0 ? row.merged : row.node(i, c - 1), row.node(i, c), rwl);
      for (int j = 0; j < x.cols; ++j) {
        const auto& col = cols[static_cast<size_t>(j)];
        const double* state = x.state.empty() ? nullptr : &x.state[static_cast<size_t>(i) * x.cols + j];
        const double g = conductance(x, x.weight(i, j), state);
        if (d.transient()) d.grid_caps(i, j, row, col);  // an open cell keeps its capacitance
        if (g == 0) continue;                            // an open cell
        const auto a = row.node(i, j), b = col.node(i, j);
        if (pf && std::isfinite(v0))
          d.text(fmt::format("BPCM{}_{} {} {} I={:.17g}*sinh(V({},{})/{:.17g})\n", i, j, a, b, g * v0, a, b, v0));
        else
          d.resistor(fmt::format("RC{}_{}", i, j), a, b, 1 / g);
      }
    }
  }

  BranchSpec grid_cell(const Crossbar& x, bool weight, const double* state) const override {
    const double g = conductance(x, weight, state);
    const double v0 = x.params.number("v0");
    BranchSpec b;
    if (poole_frenkel(x) && std::isfinite(v0)) {
      b.kind = BranchSpec::Kind::custom;
      b.custom = std::make_shared<PcmBranch>(g, v0);
    } else {
      b.kind = BranchSpec::Kind::resistor;
      b.resistance_ohm = g > 0 ? 1 / g : std::numeric_limits<double>::infinity();
    }
    return b;
  }

  // Read transients: the cell's own capacitance between its row and column node ([pcm] c_cell); the
  // row and column wire capacitances are added by the engines.
  GridCellCaps grid_cell_caps(const Crossbar& x) const override {
    const auto it = x.params.numbers.find("c_cell");
    GridCellCaps c;
    c.cell_F = require_capacitance(it == x.params.numbers.end() ? kNotGiven : it->second, x.technology_file, "pcm.c_cell",
                                   "the PCM cell capacitance");
    return c;
  }

  std::vector<std::string> default_array_ps_axes() const override { return {"k", "column", "activity"}; }
  std::string array_ps_axes_reason() const override {
    return "rows carry current: column position and row activity couple columns";
  }
  RailLoadWeights rail_load_weights(const Crossbar&) const override { return {0, 1}; }  // sensed at the bottom
};

}  // namespace
}  // namespace xbarkit::netlist

XBARKIT_REGISTER_CELL(pcm, PcmCell)
