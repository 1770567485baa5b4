#include "xbarkit/characterize/transistor_sweep.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/deck_writer.hpp"

namespace xbarkit::characterize {

circuit::TransistorTable characterize_transistor(spice::Session& session, const netlist::Crossbar& xbar,
                                                 const circuit::TableGrid& grid, ProgressReporter* progress) {
  if (!xbar.kind().uses_transistor(xbar))
    throw InputError("crossbar", "array.cell",
                     fmt::format("{} arrays have no transistor to characterize", xbar.cell_name()));
  // The model section exactly as the crossbar's deck writes it (shipped flavour inlined, or the user's
  // library and OSDI files), taken from the deck of a 1x1 array of the same kind; that array's own
  // elements stay in the deck as harmless extras.
  netlist::Crossbar one = xbar;
  one.rows = one.cols = 1;
  one.inputs.assign(1, 0);
  one.weights.assign(1, 0);
  netlist::DeckOptions dopt;
  dopt.title = "xbarkit transistor characterization";
  dopt.op = false;
  std::string models = netlist::write_deck(one, dopt);
  models = models.substr(0, models.rfind(".end"));
  const bool user = xbar.user_models && !xbar.user_models->transistor_subckt.empty();
  const std::string subckt = user ? xbar.user_models->transistor_subckt : "nfet_" + xbar.transistor.flavour;

  const int n = static_cast<int>(std::lround((grid.v_max - grid.v_min) / grid.step)) + 1;
  const std::vector<double> gates = {0.0, xbar.vdd_V};
  std::vector<std::vector<double>> samples;
  for (double vg : gates) {
    session.load(models + fmt::format("* device under test\nVGX xgx 0 {}\nVDX xdx 0 0\nVSX xsx 0 0\n"
                                      "XDUT xdx xgx xsx {} nfin={}\n.end\n", vg, subckt, xbar.nfin));
    // Nested sweep: VDX inner, VSX outer (interactive dc wants lower-case source names).
    session.command(fmt::format("dc vdx {} {} {} vsx {} {} {}", grid.v_min, grid.v_max, grid.step, grid.v_min,
                                grid.v_max, grid.step));
    auto vec = [&](const char* name) {
      auto v = session.vector(name);
      if (v.size() != static_cast<size_t>(n) * n)
        throw spice::SpiceError(fmt::format("ngspice: the I-V sweep's vector '{}' has {} points, expected {}", name,
                                            v.size(), n * n));
      return v;
    };
    const auto i_src = vec("vdx#branch"), vd = vec("xdx"), vs = vec("xsx");
    std::vector<double> f(static_cast<size_t>(n) * n, std::nan(""));
    for (size_t k = 0; k < i_src.size(); ++k) {
      // Place each point by its own voltages (no assumption about ngspice's loop order).
      const long a = std::lround((vd[k] - grid.v_min) / grid.step), b = std::lround((vs[k] - grid.v_min) / grid.step);
      if (a < 0 || a >= n || b < 0 || b >= n) throw spice::SpiceError("ngspice: I-V sweep point outside the grid");
      f[static_cast<size_t>(a) * n + b] = -i_src[k];  // i(VDX) flows out of the drain node: Id = -i(VDX)
    }
    for (double v : f)
      if (std::isnan(v)) throw spice::SpiceError("ngspice: the I-V sweep missed grid points");
    samples.push_back(std::move(f));
    if (progress) progress->advance();
  }
  const std::string what = user ? fmt::format("user subcircuit {} ({}), nfin={}", subckt,
                                              xbar.user_models->library.string(), xbar.nfin)
                                : fmt::format("shipped MVS {} (nfet_{}), nfin={}", xbar.transistor.flavour,
                                              xbar.transistor.flavour, xbar.nfin);
  return circuit::TransistorTable(fmt::format("{}; ngspice dc sweep, gate levels 0 and {} V", what, xbar.vdd_V), gates, grid,
                         std::move(samples));
}

}  // namespace xbarkit::characterize
