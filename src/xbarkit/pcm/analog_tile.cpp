#include "xbarkit/pcm/analog_tile.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::pcm {

namespace {
netlist::Crossbar make_tile_crossbar(const netlist::Technology& tech, const Eigen::MatrixXd& gp, const Eigen::MatrixXd& gm,
                                     const AnalogTileOptions& o) {
  if (gp.rows() != gm.rows() || gp.cols() != gm.cols())
    throw InputError(o.origin, "conductances",
                     fmt::format("G+ is {}x{} but G- is {}x{}; the pair needs equal shapes", gp.rows(), gp.cols(),
                                 gm.rows(), gm.cols()));
  if (gp.rows() < 1 || gp.cols() < 1) throw InputError(o.origin, "conductances", "the tile needs at least one row and output");
  if (!tech.arrays.count("pcm"))
    throw InputError(tech.file.string(), "pcm", "the technology has no [pcm] table (the analog tile's cells and wires)");
  const int rows = static_cast<int>(gp.rows()), outs = static_cast<int>(gp.cols());
  auto x = netlist::make_crossbar(tech, "pcm", rows, 2 * outs);
  x.params.choices["pcm_iv"] = "linear";  // low-field conductances: a linear network, factored once
  auto override_value = [&](double v, double& field, const char* key, const char* unit) {
    if (std::isnan(v)) return;
    if (!(v >= 0) || !std::isfinite(v)) throw InputError(o.origin, key, fmt::format("must be finite and >= 0 {}, got {}", unit, v));
    field = v;
  };
  override_value(o.v_read_V, x.v_read_V, "v_read", "V");
  override_value(o.r_wordline_ohm, x.parasitics.r_wordline_ohm, "r_wordline", "ohm");
  override_value(o.r_bitline_ohm, x.parasitics.r_bitline_ohm, "r_bitline", "ohm");
  if (!(x.v_read_V > 0)) throw InputError(o.origin, "v_read", "the read amplitude must be > 0 V");
  if (o.dac_bits < 0 || o.dac_bits == 1 || o.dac_bits > 24)
    throw InputError(o.origin, "dac_bits", fmt::format("must be 0 (no quantization) or in [2, 24] (signed DAC), got {}", o.dac_bits));
  const double g_max = x.params.number("g_max");
  x.state.resize(static_cast<size_t>(rows) * x.cols);
  for (int i = 0; i < rows; ++i)
    for (int k = 0; k < outs; ++k)
      for (int s = 0; s < 2; ++s) {
        const double g = s == 0 ? gp(i, k) : gm(i, k);
        if (!(g >= 0 && g <= g_max))
          throw InputError(o.origin, s == 0 ? "g_plus" : "g_minus",
                           fmt::format("weight (row {}, output {}) has conductance {} S, outside [0, G_max = {} S] "
                                       "(technology {} [pcm] g_max); rescale the weights", i, k, g, g_max, tech.file.string()));
        x.state[static_cast<size_t>(i) * x.cols + 2 * k + s] = g;
      }
  x.validate(o.origin);
  return x;
}
}  // namespace

AnalogTile::AnalogTile(const netlist::Technology& tech, const Eigen::MatrixXd& gp, const Eigen::MatrixXd& gm,
                       const AnalogTileOptions& o)
    : xbar_(make_tile_crossbar(tech, gp, gm, o)), net_(xbar_), dac_bits_(o.dac_bits), origin_(o.origin) {}

Eigen::MatrixXd AnalogTile::drive_V(const Eigen::MatrixXd& x) const {
  if (x.rows() != rows())
    throw InputError(origin_, "inputs", fmt::format("have {} rows; the tile has {}", x.rows(), rows()));
  const double levels = dac_bits_ > 0 ? std::ldexp(1.0, dac_bits_ - 1) - 1 : 0;
  Eigen::MatrixXd v(x.rows(), x.cols());
  for (Eigen::Index b = 0; b < x.cols(); ++b)
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      const double xi = x(i, b);
      if (!(std::abs(xi) <= 1))
        throw InputError(origin_, "inputs",
                         fmt::format("input {} of vector {} is {}; inputs must lie in [-1, 1] (scale the activations to "
                                     "the DAC's full range)", i, b, xi));
      v(i, b) = xbar_.v_read_V * (levels > 0 ? std::round(xi * levels) / levels : xi);
    }
  return v;
}

Eigen::MatrixXd AnalogTile::column_currents_from_drive_A(const Eigen::MatrixXd& drive) const {
  if (drive.rows() != rows())
    throw InputError(origin_, "drive", fmt::format("has {} rows; the tile has {}", drive.rows(), rows()));
  return net_.column_currents(drive);
}

Eigen::MatrixXd AnalogTile::transfer_S() const {
  return net_.column_currents(Eigen::MatrixXd::Identity(rows(), rows()));
}

Eigen::MatrixXd AnalogTile::column_currents_A(const Eigen::MatrixXd& x) const {
  return column_currents_from_drive_A(drive_V(x));
}

Eigen::MatrixXd AnalogTile::output_currents_A(const Eigen::MatrixXd& x) const {
  const Eigen::MatrixXd c = column_currents_A(x);
  Eigen::MatrixXd out(outputs(), c.cols());
  for (int k = 0; k < outputs(); ++k) out.row(k) = c.row(2 * k) - c.row(2 * k + 1);
  return out;
}

namespace {
Eigen::MatrixXd conductance_matrix(const netlist::Crossbar& x) {  // rows x cols
  Eigen::MatrixXd g(x.rows, x.cols);
  for (int i = 0; i < x.rows; ++i)
    for (int j = 0; j < x.cols; ++j) {
      if (x.state.empty()) throw Error("analog tile comparison needs a crossbar with conductance states (internal error)");
      g(i, j) = x.cell_state(i, j);
    }
  return g;
}
}  // namespace

Eigen::MatrixXd ideal_column_currents_A(const netlist::Crossbar& x, const Eigen::MatrixXd& drive) {
  return conductance_matrix(x).transpose() * drive;
}

Eigen::MatrixXd aihwkit_ir_drop_column_currents_A(const netlist::Crossbar& x, const Eigen::MatrixXd& drive, double v_read) {
  const Eigen::MatrixXd g = conductance_matrix(x);
  const int n = x.rows;
  Eigen::VectorXd profile(n);  // 1 - (1 - j/n)^2 with j = n - 1 - i
  for (int i = 0; i < n; ++i) {
    const double p = 1 - static_cast<double>(n - 1 - i) / n;
    profile(i) = 1 - p * p;
  }
  const Eigen::MatrixXd ideal = g.transpose() * drive;
  const Eigen::MatrixXd weighted = g.transpose() * (profile.asDiagonal() * drive);
  const Eigen::MatrixXd total = g.transpose() * (drive.cwiseAbs() / v_read);  // sum_i G |x_i|
  const double rbl = x.parasitics.r_bitline_ohm;
  Eigen::MatrixXd out = ideal;
  for (Eigen::Index c = 0; c < out.rows(); ++c)
    for (Eigen::Index b = 0; b < out.cols(); ++b) {
      const double a = n * rbl * total(c, b);
      out(c, b) -= a * (0.5 + a * (-0.2 + 0.05 * a)) * weighted(c, b);
    }
  return out;
}

}  // namespace xbarkit::pcm
