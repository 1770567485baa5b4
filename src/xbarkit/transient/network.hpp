#pragma once
// A small nodal transient engine: the native read transient integrates each independent part of an
// array (a wordline, a column ladder, a coupled passive grid) as one Network.
//
// Unknowns are node voltages plus one current per transistor (the MVS transistor with its series
// resistances is an implicit device, devices.hpp; its current is eliminated element by element in
// every Newton step, so the linear system is nodal). Time integration is TR-BDF2 (Bank et al., IEEE
// TCAD 4(4), 436, 1985; Hosea & Shampine, Appl. Numer. Math. 20, 21, 1996): a trapezoidal stage to
// t + gamma h and a BDF2 stage to t + h, gamma = 2 - sqrt(2), L-stable and second order, with the
// embedded local-truncation-error estimate controlling the step. Charges, not voltages, are
// integrated (charge conservation with the nonlinear MVS gate charge).
//
// Linear algebra: a banded LU (no pivoting; the node ordering of a ladder or a wire chain keeps the
// bandwidth <= 3, and these nodal matrices are diagonally dominant) or, for grids, Eigen's sparse LU.
// A network with only linear elements factors its matrix once per distinct step size (step sizes are
// powers of two times a base step, so they repeat).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/transient/mvs_charge.hpp"

namespace xbarkit::transient {

// A voltage given as a function of time: piecewise linear through (t, v) points (constant outside),
// or a stored trajectory (quadratic within each step) of a node of another network.
class Trajectory;
struct Signal {
  std::vector<double> t, v;           // piecewise linear (if traj is null)
  const Trajectory* traj = nullptr;
  int node = 0;
  double at(double time) const;
  static Signal constant(double v) { return Signal{{0.0}, {v}, nullptr, 0}; }
  static Signal ramp(double t_ramp, double v_end) { return Signal{{0.0, t_ramp}, {0.0, v_end}, nullptr, 0}; }
};

// Recorded node voltages of an integrated network: at every accepted step end and at its TR-BDF2
// stage point, so a node's voltage at any time follows from the quadratic through the three.
class Trajectory {
public:
  double at(int node, double time) const;
  std::vector<double> t;                // step ends (t[0] = 0)
  std::vector<double> t_mid;            // stage points, t_mid[k] in (t[k], t[k+1])
  std::vector<std::vector<double>> v;   // v[k][node] at t[k]
  std::vector<std::vector<double>> v_mid;
};

class Network {
public:
  // Node ids: >= 0 are unknowns, < 0 are fixed nodes (a Signal each); kGround is 0 V.
  static constexpr int kGround = -1;
  Network();
  int add_node(double initial_guess_V = 0);
  int add_fixed(Signal s);  // returns its (negative) id
  void resistor(int a, int b, double g_S);
  void capacitor(int a, int b, double c_F);
  void gate_charge(int a, const MvsGateCharge* q);  // grounded nonlinear charge at node a
  void transistor(int d, int s, const circuit::MvsFet* fet, Signal gate);
  void reram(int a, int b, const circuit::Reram& r);
  void branch(int a, int b, const netlist::BranchModel* model);  // a cell's own two-terminal equations

  int nodes() const { return n_; }
  const Signal& fixed_signal(int id) const { return fixed_[static_cast<size_t>(-id - 1)]; }

  // Internal representation (read by the integrator).
  struct Element {
    enum class Kind { resistor, capacitor, gate_charge, transistor, reram, branch };
    Kind kind = Kind::resistor;
    int a = 0, b = 0;
    double value = 0;  // conductance (S) or capacitance (F)
    const MvsGateCharge* q = nullptr;
    const circuit::MvsFet* fet = nullptr;
    circuit::Reram rr;
    const netlist::BranchModel* model = nullptr;
    int gate_signal = -1;  // index into signals_ (transistors)
  };
  const std::vector<Element>& elements() const { return elements_; }
  const std::vector<Signal>& signals() const { return signals_; }
  const std::vector<double>& initial_guess() const { return guess_; }

private:
  int n_ = 0;
  std::vector<double> guess_;
  std::vector<Signal> fixed_;
  std::vector<Signal> signals_;
  std::vector<Element> elements_;
};

struct IntegrateOptions {
  double t_stop_s = 0;
  double h_max_s = 0;             // largest step (also the output spacing bound)
  double lte_abs_V = 1e-6;        // local error tolerance per step: abs + rel * |v|
  double lte_rel = 1e-5;
  std::vector<double> breakpoints;  // times the integrator lands on (signal corners)
  bool record_trajectory = false;
  bool record_stage_points = false;  // probes also at each step's TR-BDF2 stage point (denser output)
  int max_newton = 60;
  double newton_tol_V = 1e-9;   // << lte_abs_V: Newton's own error stays out of the LTE estimate
};

// The integrated network: at every accepted time point (t[0] = 0 is the DC operating point with the
// signals at t = 0), the current flowing OUT of each requested fixed node into the network, and the
// voltage of that fixed node.
struct IntegrateResult {
  std::vector<double> t;
  std::vector<std::vector<double>> fixed_current_A;  // [probe][k]
  std::vector<std::vector<double>> final_node_V;     // unused placeholder for callers (empty)
  Trajectory trajectory;                             // with record_trajectory
  int steps = 0, rejected = 0, newton_iterations = 0, factorizations = 0;
};

// Integrates `net` from its DC operating point at t = 0 (Newton from `initial_guess`) to t_stop.
// `probes` are fixed-node ids whose outflowing current is recorded. Throws SolverError if Newton
// fails even at the smallest step.
IntegrateResult integrate(const Network& net, const std::vector<int>& probes, const IntegrateOptions& opt);

}  // namespace xbarkit::transient
