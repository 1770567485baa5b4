// Characterization kind "cell_iv": the SPICE-characterized transistor I-V tables of the native
// solver (circuit/iv_table.hpp) as LUT bundle tables, for each array kind's transistor.
//
//   [cell_iv]
//   tech = "7nm"                       # technology (models/tech/<name>.toml or a path)
//   cells = ["sram8t", "rram1t1r"]     # the transistor each array kind uses (flavour, nfin)
//   v_min = -0.1                       # V, drain and source grid (both axes)
//   v_max = 0.8
//   step = 0.01                        # V; the solver's bicubic interpolant errs as step^4
//
// One sweep point per cell kind, run in this process's ngspice session (ngspice is not reentrant:
// the points take turns). Per cell kind and gate level (0 and vdd) a table "<cell>_<flavour>_vg<V>"
// with axes vd_V x vs_V and column id_A (drain current, positive into the drain), plus the solver's
// own table file "<cell>_<flavour>.iv.json" (load it with `xbarkit solve --cell-table`).
#include <cmath>
#include <mutex>

#include <fmt/format.h>
#include <unistd.h>

#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/characterize/transistor_sweep.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::characterize {
namespace {

std::mutex& session_mutex() {
  static std::mutex m;
  return m;
}
spice::Session& process_session() {
  static spice::Session s;  // one per process, created on first use
  return s;
}

class CellIvKind : public Kind {
public:
  CellIvKind(const Recipe& recipe, const TomlSection& s) {
    tech_ = netlist::load_technology(s.string("tech").value_or("7nm"), recipe.base_dir);
    for (const auto& c : s.string_array("cells").value_or(std::vector<std::string>{"sram8t", "rram1t1r"})) {
      const netlist::Cell* k = netlist::find_cell(c);
      if (!k) throw s.error("cells", fmt::format("unknown cell kind '{}' ({})", c, netlist::cell_names()));
      if (!tech_.arrays.count(c)) throw s.error("cells", fmt::format("the technology has no [{}] table", c));
      if (tech_.array(c).transistor.empty())
        throw s.error("cells", fmt::format("{} arrays have no transistor to characterize", c));
      cells_.push_back(c);
    }
    if (cells_.empty()) throw s.error("cells", "needs at least one cell kind");
    grid_.v_min = s.number("v_min").value_or(-0.1);
    grid_.v_max = s.number("v_max").value_or(0.8);
    grid_.step = s.number("step").value_or(0.01);
    if (!(grid_.v_max > grid_.v_min)) throw s.error("v_max", "must be greater than v_min");
    if (!(grid_.step > 0) || (grid_.v_max - grid_.v_min) / grid_.step > 2000)
      throw s.error("step", "must be > 0 and give at most 2000 points per axis");
    for (auto c : cells_) points_.push_back({fmt::format("{}/{}", c, flavour(c))});
  }

  std::string flavour(const std::string& c) const { return tech_.array(c).transistor; }
  const std::vector<Point>& points() const override { return points_; }
  std::string engine() const override { return "ngspice (in-process session), characterize_transistor"; }
  std::vector<std::filesystem::path> model_files() const override { return {tech_.file, tech_.finfet_spice_lib}; }

  nlohmann::json run(size_t i) const override {
    const auto x = netlist::make_crossbar(tech_, cells_.at(i), 2, 1);
    std::lock_guard<std::mutex> lock(session_mutex());
    const auto table = characterize_transistor(process_session(), x, grid_);
    const auto tmp = std::filesystem::temp_directory_path() / fmt::format("xbarkit_cell_iv_{}_{}.json", ::getpid(), i);
    table.save(tmp);
    auto text = read_text_file(tmp);
    std::filesystem::remove(tmp);
    nlohmann::json samples = nlohmann::json::array();
    for (size_t g = 0; g < table.gate_levels_V().size(); ++g) samples.push_back(table.samples(static_cast<int>(g)));
    return {{"gates_V", table.gate_levels_V()}, {"n", table.points_per_axis()}, {"samples", samples},
            {"description", table.description()}, {"solver_table", text}};
  }

  lut::Bundle assemble(const std::vector<PointResult>& results) const override {
    lut::Bundle b;
    for (size_t i = 0; i < cells_.size(); ++i) {
      if (!results[i].ok) continue;
      const auto& r = results[i].data;
      const int n = r.at("n").get<int>();
      std::vector<double> v(static_cast<size_t>(n));
      for (int k = 0; k < n; ++k) v[static_cast<size_t>(k)] = grid_.v_min + k * grid_.step;
      const auto gates = r.at("gates_V").get<std::vector<double>>();
      const std::string base = fmt::format("{}_{}", cells_[i], flavour(cells_[i]));
      for (size_t g = 0; g < gates.size(); ++g) {
        lut::Table t(fmt::format("{}_vg{:g}", base, gates[g]), {{"vd_V", "V", v}, {"vs_V", "V", v}}, {{"id_A", "A"}});
        const auto s = r.at("samples")[g].get<std::vector<double>>();
        if (s.size() != t.node_count()) throw Error(fmt::format("cell_iv {}: {} samples for {} grid nodes", base, s.size(), t.node_count()));
        for (size_t nd = 0; nd < s.size(); ++nd) t.value(nd, 0) = s[nd];  // index iv_d * n + iv_s: same order
        t.attributes = {{"role", "cell_iv"}, {"cell", cells_[i]}, {"flavour", flavour(cells_[i])},
                        {"nfin", tech_.array(cells_[i]).nfin}, {"gate_V", gates[g]},
                        {"description", r.at("description")}};
        t.preferred_interp = lut::Interp::monotone_cubic;
        b.tables.push_back(std::move(t));
      }
      b.files.push_back({base + ".iv.json", r.at("solver_table").get<std::string>()});
    }
    b.info = {{"grid", {{"v_min", grid_.v_min}, {"v_max", grid_.v_max}, {"step", grid_.step}}},
              {"layout", "tables <cell>_<flavour>_vg<gate V>: id_A over vd_V x vs_V; <cell>_<flavour>.iv.json: the "
                         "native solver's table file (solve --cell-table)"}};
    return b;
  }

private:
  netlist::Technology tech_;
  std::vector<std::string> cells_;
  circuit::TableGrid grid_;
  std::vector<Point> points_;
};

const RegisterKind reg("cell_iv", [](const Recipe& r, const TomlSection& s) { return std::make_unique<CellIvKind>(r, s); });

}  // namespace

void link_kind_cell_iv() {}

}  // namespace xbarkit::characterize
