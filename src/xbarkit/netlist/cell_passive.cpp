// Passive (selector-less) crossbar: one two-terminal device per cross point.
//
// Row i is driven at v_read (input 1) or 0 V from column 0 through r_wordline per segment; the cell
// joins row node (i,j) and column node (i,j); column j runs down with r_bitline per segment to the
// sense node at the bottom, held at 0 V. Rows carry current, so columns couple: a grid.
//
// Parameters (tech table [passive] and recipe [array]):
//   r_lrs, r_hrs     ohm; the resistor cell of a stored 1 / 0
//   passive_cell     "resistor" (linear, default) or "reram" (the technology's Stanford/ASU ReRAM
//                    with its LRS/HRS gaps), recipe key under [array]
// Analog state: resistor cells accept a programmed conductance per cell (Crossbar::state, S, > 0),
// which replaces the LRS/HRS pair.
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {
namespace {

bool nonlinear(const Crossbar& x) { return x.params.choice("passive_cell") == "reram"; }

class PassiveCell final : public Cell {
public:
  std::string_view name() const override { return "passive"; }
  std::string_view summary() const override { return "passive cross point: resistor or Stanford/ASU ReRAM"; }
  Topology topology() const override { return Topology::grid; }
  bool uses_transistor(const Crossbar&) const override { return false; }
  bool uses_reram(const Crossbar& x) const override { return nonlinear(x); }
  bool analog_state() const override { return true; }
  std::string_view state_unit() const override { return "S"; }

  ArrayDefaults read_defaults(const TomlSection& t, const Technology& tech) const override {
    auto d = read_common_defaults(t, tech);
    for (const char* key : {"r_lrs", "r_hrs"}) {
      const double r = t.require_number(key);
      if (!(r > 0) || !std::isfinite(r)) throw t.error(key, fmt::format("must be a finite resistance > 0 ohm, got {}", r));
      d.params.numbers[std::string(key) + "_ohm"] = r;
    }
    d.params.choices["passive_cell"] = "resistor";
    t.reject_unknown_keys();
    return d;
  }

  void apply_recipe_keys(const TomlSection& array, Crossbar& x) const override {
    if (auto pc = array.string("passive_cell")) {
      if (*pc != "resistor" && *pc != "reram")
        throw array.error("passive_cell", fmt::format("unknown '{}' (resistor | reram)", *pc));
      x.params.choices["passive_cell"] = *pc;
    }
  }

  void validate(const Crossbar& x, const std::string& origin) const override {
    const auto& pc = x.params.choice("passive_cell");
    if (pc != "resistor" && pc != "reram")
      throw InputError(origin, "array.passive_cell", fmt::format("unknown '{}' (resistor | reram)", pc));
    for (const char* key : {"r_lrs_ohm", "r_hrs_ohm"})
      if (!(x.params.number(key) > 0))
        throw InputError(origin, key, fmt::format("must be > 0 ohm, got {}", x.params.number(key)));
    if (!x.state.empty()) {
      if (pc != "resistor")
        throw InputError(origin, "state", "analog states need passive_cell = \"resistor\" (conductance per cell)");
      for (size_t k = 0; k < x.state.size(); ++k)
        if (!(x.state[k] > 0) || !std::isfinite(x.state[k]))
          throw InputError(origin, "state", fmt::format("cell ({}, {}) has conductance {} S; must be finite and > 0",
                                                         k / static_cast<size_t>(x.cols), k % static_cast<size_t>(x.cols),
                                                         x.state[k]));
    }
  }


  void write_array(DeckContext& d) const override {
    const Crossbar& x = d.x;
    const double rwl = x.parasitics.r_wordline_ohm, rbl = x.parasitics.r_bitline_ohm;
    std::vector<Line> cols;
    for (int j = 0; j < x.cols; ++j) {
      Line col{"c", fmt::format("sn{}", j), rbl == 0};
      d.text(fmt::format("* column {}\n", j));
      d.sense_source(j, fmt::format("sn{}", j), "0");
      if (!col.ideal) {
        const double rblj = rbl * x.variation.bitline_factor(j);
        d.column_segments(col, j, "RBL", rblj);
        d.resistor(fmt::format("RBLS{}", j), col.node(x.rows - 1, j), col.merged, rblj);
      }
      cols.push_back(col);
    }
    const bool reram = nonlinear(x);
    const double r_lrs = x.params.number("r_lrs_ohm"), r_hrs = x.params.number("r_hrs_ohm");
    auto resistance = [&](int i, int j) { return x.state.empty() ? (x.weight(i, j) ? r_lrs : r_hrs) : 1 / x.cell_state(i, j); };
    for (int i = 0; i < x.rows; ++i) {
      d.text(fmt::format("* row {}\n", i));
      Line row{"r", fmt::format("rd{}", i), rwl == 0};
      d.row_driver(fmt::format("VROW{}", i), fmt::format("rd{}", i), i, x.input(i) ? x.v_read_V : 0.0);
      if (!row.ideal)
        for (int c = 0; c < x.cols; ++c)
          d.resistor(fmt::format("RWL{}_{}", i, c), c == 0 ? row.merged : row.node(i, c - 1), row.node(i, c),
                     rwl * x.variation.wordline_factor(i));
      for (int j = 0; j < x.cols; ++j) {
        const auto& col = cols[static_cast<size_t>(j)];
        if (reram)
          d.text(fmt::format("XC{}_{} {} {} {}\n", i, j, row.node(i, j), col.node(i, j),
                             d.reram_instance(i, j, 0, x.weight(i, j))));
        else
          d.resistor(fmt::format("RC{}_{}", i, j), row.node(i, j), col.node(i, j), d.resistance(i, j, 0, resistance(i, j)));
        if (d.transient()) d.grid_caps(i, j, row, col);
      }
    }
  }

  BranchSpec grid_cell(const Crossbar& x, bool weight, const double* state) const override {
    BranchSpec b;
    if (nonlinear(x)) {
      b.kind = BranchSpec::Kind::reram;
      b.reram_gap_m = weight ? x.reram.gap_lrs_m : x.reram.gap_hrs_m;
    } else {
      b.kind = BranchSpec::Kind::resistor;
      b.resistance_ohm = state ? 1 / *state : x.params.number(weight ? "r_lrs_ohm" : "r_hrs_ohm");
    }
    return b;
  }

  // The cell is a resistive switching element (ReRAM abstraction): its electrode/oxide/electrode
  // capacitance sits between row and column ([reram] c_cell); row and column wire capacitances are
  // the engines' (c_wordline, c_bitline).
  GridCellCaps grid_cell_caps(const Crossbar& x) const override {
    GridCellCaps c;
    c.cell_F = require_capacitance(x.reram.c_cell_F, x.technology_file, "reram.c_cell", "the ReRAM cell capacitance");
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

XBARKIT_REGISTER_CELL(passive, PassiveCell)
