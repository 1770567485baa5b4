#pragma once
// Tabulated transistor I-V from SPICE, so any compact model ngspice runs (the shipped MVS subcircuit,
// a user's model card or OSDI device wrapped as a (d g s) subcircuit) reaches the native solver.
//
// The transistor subcircuit is swept in ngspice over a grid of drain and source voltages at each gate
// level the arrays use (0 V and vdd: wordlines and stored bits drive gates to one or the other; no
// translation invariance is assumed, so a model whose bulk is tied to ground is tabulated correctly).
// Between grid points the drain current is a bicubic Hermite patch whose node derivatives come from
// not-a-knot cubic splines along each axis (and the spline of dI/dVd along Vs for the cross term):
// the interpolant has continuous first derivatives everywhere (Newton converges quadratically on it)
// and its error falls as h^4. Outside the grid it continues linearly (C1), so Newton iterates that
// wander out are fine; a solution outside the grid is reported by the solver.
#include <filesystem>
#include <string>
#include <vector>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::circuit {

struct TableGrid {
  double v_min = -0.1;  // V, both axes
  double v_max = 0.8;
  double step = 0.005;  // V
};

class TransistorTable {
public:
  TransistorTable() = default;
  // Builds the interpolant from samples current_A[g][iv_d * n + iv_s] on the grid (n points per axis).
  TransistorTable(std::string description, std::vector<double> gate_levels_V, TableGrid grid,
                  std::vector<std::vector<double>> current_A);

  // Index of the gate level equal to vg (within 1 uV); throws InputError if the table lacks it.
  int gate_index(double vg) const;
  // Drain current at (Vd, Vs) for gate level g, d1 = dI/dVd, d2 = dI/dVs.
  IV2 eval(int g, double vd, double vs) const;
  bool inside(double v) const { return v >= grid_.v_min - 1e-12 && v <= grid_.v_max + 1e-12; }

  const std::string& description() const { return description_; }
  const std::vector<double>& gate_levels_V() const { return gates_; }
  const TableGrid& grid() const { return grid_; }
  int points_per_axis() const { return n_; }
  const std::vector<double>& samples(int g) const { return samples_[static_cast<size_t>(g)]; }

  // JSON file (written atomically) with the samples and their provenance; the interpolant is
  // rebuilt on load.
  void save(const std::filesystem::path& path) const;
  static TransistorTable load(const std::filesystem::path& path);

private:
  struct Node { double f, fx, fy, fxy; };
  std::string description_;
  std::vector<double> gates_;
  TableGrid grid_;
  int n_ = 0;
  std::vector<std::vector<double>> samples_;
  std::vector<std::vector<Node>> nodes_;  // per gate level, n*n, index iv_d*n + iv_s
};

// Made by characterize::characterize_transistor (characterize/transistor_sweep.hpp), which runs the
// ngspice sweep.

}  // namespace xbarkit::circuit
