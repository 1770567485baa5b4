#pragma once
// An analog crossbar tile with fixed conductances, solved circuit-exactly with wire resistance,
// factor once / solve many.
//
// After programming (and at each drift time) an analog tile's conductances are fixed and only its
// input voltages change; the nodal matrix of a passive array with linear cells does not depend on
// the inputs (circuit/passive.hpp). The tile therefore builds and factors it once (multifrontal
// Cholesky on a nested-dissection ordering) and solves every input vector, or block of input
// vectors, against that factor, visiting only the fronts between the row drivers and the sense
// nodes. One AnalogTile per (tile, time); a new time (drift, read noise) is a new tile.
//
// Mapping: a weight W[i][k] is a differential pair G+[i][k] - G-[i][k] of two PCM cells on the
// same row of one array, on adjacent columns: G+ of output k on column 2k, G- on column 2k+1
// (interleaved, so both devices of a pair see nearly the same row-wire drop). Output k's current is
// I(2k) - I(2k+1). The cells are the pcm kind (netlist/cell_pcm.cpp) with the linear (low-field)
// read I-V; wires and the read amplitude come from the technology's [pcm] table unless overridden.
//
// Inputs: real activations x in [-1, 1] as signed read-voltage amplitudes V = v_read * DAC(x), with
// a signed DAC of `dac_bits` bits: DAC(x) = round(x L) / L, L = 2^(dac_bits-1) - 1 levels per sign
// (aihwkit's inp_res = 1 / (2^bits - 2) over [-1, 1]); dac_bits = 0: no quantization.
#include <limits>
#include <string>

#include <Eigen/Core>

#include "xbarkit/circuit/passive.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::pcm {

struct AnalogTileOptions {
  // NaN: the technology's [pcm] value.
  double v_read_V = std::numeric_limits<double>::quiet_NaN();
  double r_wordline_ohm = std::numeric_limits<double>::quiet_NaN();
  double r_bitline_ohm = std::numeric_limits<double>::quiet_NaN();
  int dac_bits = 8;
  std::string origin = "analog tile";  // names the caller's file or option in error messages
};

class AnalogTile {
public:
  // g_plus_S, g_minus_S: rows x outputs conductances in [0, G_max] (the technology's [pcm] g_max).
  // Throws InputError for shapes, conductances or options out of range.
  AnalogTile(const netlist::Technology& tech, const Eigen::MatrixXd& g_plus_S, const Eigen::MatrixXd& g_minus_S,
             const AnalogTileOptions& options = {});

  int rows() const { return xbar_.rows; }
  int outputs() const { return xbar_.cols / 2; }
  double v_read_V() const { return xbar_.v_read_V; }
  const netlist::Crossbar& crossbar() const { return xbar_; }  // rows x 2*outputs, state = conductances

  // Solves only read the factor: one tile can serve several threads at once.
  // Inputs (rows x batch, in [-1, 1]) -> row drive voltages after the DAC (rows x batch).
  Eigen::MatrixXd drive_V(const Eigen::MatrixXd& x) const;
  // Exact column currents of the physical array (2*outputs x batch) for inputs x (rows x batch).
  Eigen::MatrixXd column_currents_A(const Eigen::MatrixXd& x) const;
  // The same for drive voltages given directly (rows x batch; no DAC).
  Eigen::MatrixXd column_currents_from_drive_A(const Eigen::MatrixXd& drive_V) const;
  // Differential output currents I(2k) - I(2k+1) (outputs x batch).
  Eigen::MatrixXd output_currents_A(const Eigen::MatrixXd& x) const;
  // The tile's exact transfer (2*outputs x rows, siemens): column c's current per volt on row i,
  // wires included, from `rows` solves (one per unit drive). The cells are linear and the sense
  // nodes held at 0 V, so by superposition column_currents_from_drive_A(v) = transfer_S() * v for
  // every drive v: the whole circuit solve of any input reduces to one dense product.
  Eigen::MatrixXd transfer_S() const;

  int unknowns() const { return net_.unknowns(); }
  double analyze_s() const { return net_.analyze_s(); }      // thread CPU time of the symbolic analysis
  double factorize_s() const { return net_.factorize_s(); }  // thread CPU time of the numeric factorization

private:
  netlist::Crossbar xbar_;
  circuit::PassiveNetwork net_;
  int dac_bits_ = 0;
  std::string origin_;
};

// Column currents of `x`'s cells with ideal wires, sum_i G[i][c] V[i] (2-D: rows x batch drives ->
// cols x batch currents): the no-IR-drop reference.
Eigen::MatrixXd ideal_column_currents_A(const netlist::Crossbar& x, const Eigen::MatrixXd& drive_V);

// aihwkit's analytical IR-drop approximation (IOParameters.ir_drop, applied in its forward pass,
// ForwardBackwardPassIOManaged::applyIrDrop; IBM Analog Hardware Acceleration Kit, M. J. Rasch et
// al., IEEE AICAS 2021), applied to each physical column c of `x`: with n = rows, inputs normalized
// to the read amplitude (x_i = V_i / v_read) and the input of row i at position j = n - 1 - i from
// the sense end (aihwkit puts its input j = 0 next to the output),
//   a_c = n R_bl sum_i G[i][c] |x_i|            (the column's total current x its line resistance / V)
//   c_c = a_c (0.5 - 0.2 a_c + 0.05 a_c^2)
//   I_c = sum_i G[i][c] V_i - c_c sum_i G[i][c] V_i (1 - (1 - j/n)^2).
// To first order the drop is linear in the wire resistance: the profile 1 - (1 - j/n)^2 is that of
// a uniformly loaded line held at its sense end (a drop of a/2 at the far end). Row wires are
// ignored, as in aihwkit. `v_read_V` normalizes the inputs (aihwkit's full-scale input).
Eigen::MatrixXd aihwkit_ir_drop_column_currents_A(const netlist::Crossbar& x, const Eigen::MatrixXd& drive_V,
                                                  double v_read_V);

}  // namespace xbarkit::pcm
