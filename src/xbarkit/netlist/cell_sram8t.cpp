// 8T-SRAM decoupled read port (the BinSparX paper's 7nm 8T-SRAM array).
//
// Cell (i, j): NMOS A (drain = read bitline node (i,j), gate = read wordline i, source = internal
// node x), NMOS B (drain = x, gate = VDD if the stored bit is 1 else 0, source = read source-line node
// (i,j)). Read bitline: rows-1 segments plus one to the sense node at the bottom, which the sense
// amplifier clamps at v_read; read source line: the same, to ground at the bottom. Wordlines drive
// only gates (no DC current), so columns decouple: a column ladder.
//
// Tech table [sram8t]: transistor (flavour), nfin, r_bitline, r_sourceline, r_wordline, v_read.
#include <fmt/format.h>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {
namespace {

class Sram8tCell final : public Cell {
public:
  std::string_view name() const override { return "sram8t"; }
  std::string_view summary() const override { return "8T-SRAM decoupled read port (two NMOS in series)"; }
  Topology topology() const override { return Topology::column_ladder; }
  bool uses_transistor(const Crossbar&) const override { return true; }
  bool uses_reram(const Crossbar&) const override { return false; }

  void write_array(DeckContext& d) const override {
    const Crossbar& x = d.x;
    const auto fet = d.transistor_subckt();
    const double rbl = x.parasitics.r_bitline_ohm, rsl = x.parasitics.r_sourceline_ohm;
    d.text(fmt::format("VDD vdd 0 {}\nVCLAMP vclamp 0 {}\n", x.vdd_V, x.v_read_V));
    std::vector<std::pair<Line, Line>> columns;
    for (int j = 0; j < x.cols; ++j) {
      Line bl{"bl", fmt::format("sn{}", j), rbl == 0};
      Line sl{"sl", "0", rsl == 0};
      d.text(fmt::format("* column {}\n", j));
      d.sense_source(j, "vclamp", fmt::format("sn{}", j));
      const double rblj = rbl * x.variation.bitline_factor(j), rslj = rsl * x.variation.sourceline_factor(j);
      if (!bl.ideal) {
        d.column_segments(bl, j, "RBL", rblj);
        d.resistor(fmt::format("RBLS{}", j), bl.node(x.rows - 1, j), bl.merged, rblj);
      }
      if (!sl.ideal) {
        d.column_segments(sl, j, "RSL", rslj);
        d.resistor(fmt::format("RSLG{}", j), sl.node(x.rows - 1, j), "0", rslj);
      }
      columns.push_back({bl, sl});
    }
    for (int i = 0; i < x.rows; ++i) {
      d.text(fmt::format("* row {}\n", i));
      const auto wl = d.wordline(i, x.input(i) ? x.vdd_V : 0.0);
      for (int j = 0; j < x.cols; ++j) {
        const auto& [bl, sl] = columns[static_cast<size_t>(j)];
        const auto mid = fmt::format("x{}_{}", i, j);
        d.text(fmt::format("XA{}_{} {} {} {} {} {}\n", i, j, bl.node(i, j), wl.node(i, j), mid, fet, d.fet_params(i, j, 0)));
        d.text(fmt::format("XB{}_{} {} {} {} {} {}\n", i, j, mid, x.weight(i, j) ? "vdd" : "0", sl.node(i, j), fet,
                           d.fet_params(i, j, 1)));
        if (d.transient()) d.ladder_caps(i, j, bl, mid, sl);
      }
    }
  }

  LadderCellSpec ladder_cell(const Crossbar& x, bool input, bool weight) const override {
    LadderCellSpec c;
    c.e1.kind = c.e2.kind = BranchSpec::Kind::transistor;
    c.e1.gate_V = input ? x.vdd_V : 0.0;   // read wordline (no DC current: gate = driver voltage)
    c.e2.gate_V = weight ? x.vdd_V : 0.0;  // storage node
    return c;
  }
  LadderRails ladder_rails(const Crossbar& x) const override { return {false, x.v_read_V, 0.0}; }

  // NMOS A (gate = read wordline) drains into the bitline, sources into x; NMOS B (gate = storage
  // node, held during a read) drains x into the source line. Each source/drain carries a junction
  // cj and one overlap cof (grounded halves, capacitance.hpp); A's two overlaps and its MVS channel
  // charge load the wordline. B's gate-side halves sit on the held storage node: no charge moves.
  LadderCellCaps ladder_cell_caps(const Crossbar& x) const override {
    const auto t = transistor_caps(x);
    LadderCellCaps c;
    c.bitline_F = t.junction_F + t.overlap_F;
    c.internal_F = 2 * (t.junction_F + t.overlap_F);
    c.sourceline_F = t.junction_F + t.overlap_F;
    c.wordline_F = 2 * t.overlap_F;
    c.gate_fins = x.nfin;
    c.wordline_branch = 1;
    return c;
  }

  std::vector<std::string> default_array_ps_axes() const override { return {"k", "q"}; }
  std::string array_ps_axes_reason() const override {
    return "columns decouple; to first order the IR-drop loss is proportional to the sum over wire segments of "
           "(conducting cells beyond it)^2 (q)";
  }
  RailLoadWeights rail_load_weights(const Crossbar&) const override { return {0, 1}; }  // both rails end at the bottom

  std::vector<CellCheck> device_checks(const Technology& tech) const override {
    // The 8T read stack of two 1-fin SRAM-VT NMOS, both gates at 0.7 V, against an independent
    // ngspice implementation of the MVS equations (docs/REFERENCES.md: MVS 1.0.1 / ASAP7 fit).
    if (!tech.arrays.count("sram8t") || tech.array("sram8t").transistor != "sramvt") return {};
    std::vector<CellCheck> out;
    for (auto [v, ref] : {std::pair{0.7, 13.9e-6}, std::pair{0.3, 12.6e-6}, std::pair{0.1, 6.05e-6}})
      out.push_back({fmt::format("8T read stack (SRAM-VT) at bitline {} V", v), ref, 0.01,
                     "independent ngspice MVS 1.0.1 implementation, ASAP7 SRAM-VT fit", v, true, true});
    return out;
  }
};

}  // namespace
}  // namespace xbarkit::netlist

XBARKIT_REGISTER_CELL(sram8t, Sram8tCell)
