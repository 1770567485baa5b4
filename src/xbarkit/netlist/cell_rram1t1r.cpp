// 1T-1ReRAM cell (the BinSparX paper's 7nm 1T-1ReRAM array).
//
// Cell (i, j): a ReRAM (LRS if the bit is 1, HRS if 0) from bitline node (i,j) to the drain of an
// access NMOS whose gate is wordline i and whose source is on source-line node (i,j). Bitline j is
// driven at v_read from the top through r_bitline per segment; the source line runs down to the
// sense node at the bottom, held at 0 V. Wordlines drive only gates: a column ladder.
//
// Tech table [rram1t1r]: transistor (flavour), nfin, r_bitline, r_sourceline, r_wordline, v_read;
// the ReRAM's parameters come from the technology's [reram] table.
#include <fmt/format.h>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {
namespace {

class Rram1t1rCell final : public Cell {
public:
  std::string_view name() const override { return "rram1t1r"; }
  std::string_view summary() const override { return "1T-1ReRAM (Stanford/ASU ReRAM behind an access NMOS)"; }
  Topology topology() const override { return Topology::column_ladder; }
  bool uses_transistor(const Crossbar&) const override { return true; }
  bool uses_reram(const Crossbar&) const override { return true; }

  void write_array(DeckContext& d) const override {
    d.one_transistor_one_resistor_array("XR", [&](int i, int j) { return d.reram_instance(i, j, 0, d.x.weight(i, j)); });
  }

  LadderCellSpec ladder_cell(const Crossbar& x, bool input, bool weight) const override {
    LadderCellSpec c;
    c.e1.kind = BranchSpec::Kind::reram;
    c.e1.reram_gap_m = weight ? x.reram.gap_lrs_m : x.reram.gap_hrs_m;
    c.e2.kind = BranchSpec::Kind::transistor;
    c.e2.gate_V = input ? x.vdd_V : 0.0;
    return c;
  }
  LadderRails ladder_rails(const Crossbar& x) const override { return {true, x.v_read_V, 0.0}; }
  // The ReRAM's own capacitance between bitline and the access drain; the access NMOS's junctions
  // and overlaps at its drain and source, its two overlaps and MVS channel charge on the wordline.
  LadderCellCaps ladder_cell_caps(const Crossbar& x) const override {
    const auto t = transistor_caps(x);
    LadderCellCaps c;
    c.bitline_internal_F = require_capacitance(x.reram.c_cell_F, x.technology_file, "reram.c_cell", "the ReRAM cell capacitance");
    c.internal_F = t.junction_F + t.overlap_F;
    c.sourceline_F = t.junction_F + t.overlap_F;
    c.wordline_F = 2 * t.overlap_F;
    c.gate_fins = x.nfin;
    c.wordline_branch = 2;
    return c;
  }

  // hrs: a stored 0 is an HRS ReRAM that still conducts (~1/8 of LRS at 7nm defaults) when its row
  // is active, so the column current also counts those cells.
  std::vector<std::string> default_array_ps_axes() const override { return {"k", "q", "hrs"}; }
  std::string array_ps_axes_reason() const override {
    return "columns decouple; to first order the IR-drop loss is proportional to the sum over wire segments of "
           "(conducting cells beyond it)^2 (q); active HRS cells still conduct (hrs)";
  }
  RailLoadWeights rail_load_weights(const Crossbar& x) const override { return top_fed_bitline_rails(x); }

  std::vector<CellCheck> device_checks(const Technology& tech) const override {
    // 2-fin RVT access NMOS at Vg = 0.7 V, 0.2 V across the cell: 15.0 uA (LRS), 1.93 uA (HRS),
    // from an independent ngspice run of the Stanford/ASU model with the MVS transistor.
    if (!tech.arrays.count("rram1t1r")) return {};
    const std::string src = "independent ngspice run, Stanford/ASU ReRAM + MVS 1.0.1 RVT, 2 fins";
    return {{"1T-1ReRAM LRS, 0.2 V across the cell", 15.0e-6, 0.01, src, 0.2, true, true},
            {"1T-1ReRAM HRS, 0.2 V across the cell", 1.93e-6, 0.01, src, 0.2, true, false}};
  }
};

}  // namespace
}  // namespace xbarkit::netlist

XBARKIT_REGISTER_CELL(rram1t1r, Rram1t1rCell)
