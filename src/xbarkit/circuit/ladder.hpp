#pragma once
// Per-column ladder solver for sram8t and rram1t1r arrays (internal to circuit/; use solver.hpp).
//
// One column: bitline nodes b_i and source-line nodes s_i (i = 0..rows-1, top to bottom), wire
// conductances Gb, Gs per segment. Cell i is two branches in series, b_i -> x_i -> s_i, as its cell
// kind's ladder_cell() describes them (e.g. sram8t: NMOS A then NMOS B; rram1t1r: ReRAM then NMOS).
// Unknowns per row: b_i, s_i, x_i and the cell current I_i; equations: KCL at b_i and s_i, and the
// two branch residuals g1(I, b, x) = 0, g2(I, x, s) = 0 (devices.hpp). Each Newton step eliminates
// (x_i, I_i) locally, leaving a block-tridiagonal system in (b_i, s_i) with 2x2 blocks.
// Speed (ladder.cpp): the first iteration reuses each cell type's linearization at the ideal state;
// leaking cells follow a log-linear model and are solved exactly once at the converged voltages;
// columns run four at a time in lockstep with one vectorized device batch (solve_ladder_lanes).
#include <string>
#include <vector>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/netlist/cell.hpp"

namespace xbarkit::netlist {
struct Crossbar;
}

namespace xbarkit::circuit {

class TransistorTable;

// One branch of a cell with the current I from terminal a to terminal b as its unknown.
struct Branch {
  // fet: built-in MVS transistor; fet_table: SPICE-characterized transistor table; reram: built-in
  // Stanford ReRAM; two_terminal: a cell's own equations (netlist::BranchModel, also resistors).
  enum class Kind { fet, fet_table, reram, two_terminal };
  Kind kind = Kind::reram;
  const MvsFet* fet = nullptr;
  const TransistorTable* table = nullptr;
  int table_gate = 0;
  double vg = 0;  // gate voltage (fets)
  Reram reram;
  const netlist::BranchModel* model = nullptr;  // two_terminal

  BranchResidual residual(double i, double va, double vb) const;
  // Current from a to b at fixed terminal voltages: d1 = dI/dVa, d2 = dI/dVb.
  IV2 current(double va, double vb) const;
};

struct CellBranches {
  Branch e1, e2;  // a -> x -> b
};

// The isolated cell with terminals held at va, vb: internal node voltage and current.
struct CellState {
  double x = 0;
  double i = 0;
};
// x_start: Newton's first point when it lies inside the bracket (default: the bracket's midpoint);
// the root and its tolerance do not depend on it.
CellState solve_isolated_cell(const CellBranches& cell, double va, double vb, double x_start = -1e300);

struct LadderSpec {
  int rows = 0;
  double g_bitline = 0, g_sourceline = 0;  // per segment (S); ignored for an ideal line
  bool bitline_ideal = false, sourceline_ideal = false;
  bool bitline_terminal_top = false;        // rram1t1r: driven from the top; sram8t: clamped at the bottom
  double v_bitline_terminal = 0;            // V
  double v_sourceline_terminal = 0;         // V (bottom)
  double reltol = 1e-10;
  double v_scale = 0.7;                      // V; voltage tolerance = reltol * v_scale
  // A; cell current tolerance = reltol * (|I| + i_scale). A leaking cell's current carries the
  // rounding noise of the SPICE formula ln(1+exp(eta)) (~1e-9 relative in deep subthreshold), so a
  // pure relative test can stall; i_scale (1e-3 of the largest isolated cell current) is the
  // native solver's abstol.
  double i_scale = 1e-9;
  int max_iterations = 100;
  // Leaking cells (ideal current below leak_ratio * the largest type's) follow a log-linear model
  // during Newton and are evaluated exactly once at the converged voltages (see solve_ladder).
  // false: every cell is evaluated at every iteration (full Newton; the reference for tests).
  bool model_leakers = true;
};

// One of the (at most four) cell configurations of a ladder array, with what every cell of this
// type shares: its isolated state at the ideal terminal voltages (the Newton starting point and the
// ideal-limit current) and the condensed Newton linearization there (so Newton's first iteration
// evaluates no device).
struct LadderCellType {
  CellBranches branches;
  CellState ideal;
  double c0 = 0, cb = 0, cs = 0, x0 = 0, xb = 0, xs = 0;  // condensed linearization (see ladder.cpp)
  bool leaking = false;
  double lb = 0, ls = 0;  // d ln I / d b, d ln I / d s at the ideal point (leak model)
  // Sensitivities of the ideal state to each branch's variation parameter (branch_param): dx/dp_e,
  // dI/dp_e (prepare_cell_sensitivities; zero unless arrays with mismatch are solved).
  double sx[2] = {0, 0}, si[2] = {0, 0};
  double lii[2] = {0, 0};  // d^2 ln I / dp_e^2 (the leak model's curvature in each parameter)
};

// A branch's one variation parameter p (netlist/variation.hpp): a transistor's gate shift (V; p =
// -dVt, exact for MVS), a ReRAM's ln(R / R_nominal); other branches have none (p is ignored).
Branch with_param(const Branch& nominal, double p);
// Fills t.sx, t.si by central differences of the isolated cell (t.ideal must be set).
void prepare_cell_sensitivities(LadderCellType& t, const LadderSpec& spec);
// Fills `t.ideal` and the linearization; `t.branches` must be set. leaking is set by the caller.
// The column ladder of crossbar `x` (wires, terminals, voltage scale), as solve_crossbar sets it up.
LadderSpec ladder_spec(const netlist::Crossbar& x, double reltol, int max_iterations);

void prepare_cell_type(LadderCellType& t, const LadderSpec& spec);

struct LadderWorkspace {
  std::vector<double> b, s, x, i;                 // state
  std::vector<double> c0, cb, cs, x0, xb, xs;     // condensed cell linearization
  std::vector<double> dinv, rp;                   // block Thomas: inverse pivots (4 per row), rhs (2 per row)
  std::vector<double> db, ds;
  // Batched device evaluation: rows to evaluate, their two branch residuals, transistor inputs.
  std::vector<int> rows;
  std::vector<BranchResidual> res;
  std::vector<double> q_id, q_vd, q_vg, q_vs, q_g, q_gi, q_ga, q_gb;
  std::vector<int> q_slot;
  void resize(int rows);
};

struct LadderResult {
  double current_A = 0;  // current into the sense node (sum of cell currents)
  int iterations = 0;
  int device_evaluations = 0;  // branch residual evaluations (two per cell per evaluation)
};

// Solves one column; row i has cell type `types[type_of_row[i]]`. Throws SolverError naming
// `column` if Newton fails or the ladder is singular. With `row_branches` (one per row: cells whose
// devices differ from their type's, e.g. by mismatch) every device is evaluated from those branches
// at every iteration (the type's state is only the starting point).
LadderResult solve_ladder(const LadderSpec& spec, const LadderCellType* types, const unsigned char* type_of_row,
                          LadderWorkspace& ws, int column, const CellBranches* row_branches = nullptr);

// Up to ladder_lanes columns solved in lockstep: the same algorithm as solve_ladder with every row
// loop running over the lanes (independent dependency chains and SIMD), one device batch for all
// lanes. Only the regular path: a lane that meets anything else (a singular or non-finite step, no
// convergence within max_iterations, a non-negligible leak correction) is marked !ok and must be
// solved again with solve_ladder, which handles and reports it.
inline constexpr int ladder_lanes = 4;
struct LadderLanesWorkspace {
  // [row * ladder_lanes + lane]: state, condensed cell linearization, node steps
  std::vector<double> b, s, x, i, c0, cb, cs, x0, xb, xs, db, ds;
  std::vector<double> p0, p1, p2, p3, r0, r1;  // block Thomas: inverse pivots, rhs
  std::vector<double> m_i0, m_lb, m_ls, m_x, m_xb, m_xs, m_e, m_ex;  // leak model per cell (zero: none)
  // Conducting (evaluated) and leaking cells: flat index and type; list_*: the cells of one batch.
  std::vector<int> cond_f, leak_f, list_f;
  std::vector<unsigned char> cond_t, leak_t, list_t;
  std::vector<double> q_id, q_vd, q_vg, q_vs, q_g, q_gi, q_ga, q_gb;  // transistor batch inputs / scratch
  std::vector<double> rg, rgi, rga, rgb;  // branch residuals of listed cell k: branch e at [e * count + k]
  // With cell parameters: branch e of cell f evaluated with gate voltage / ReRAM scale dev[e][f]
  // (a non-batched branch is rebuilt with with_param(p[e][f])).
  const double* dev[2] = {nullptr, nullptr};
  const double* par[2] = {nullptr, nullptr};
  std::vector<double> dev1, dev2, par1, par2;
  void resize(int rows);
};
// `cell_params` (arrays with mismatch): lane l's cells' variation parameters, cell_params[l][2 * row + e]
// for branch e (with_param). Each cell then starts Newton from its own first-order state (the type's
// ideal state moved by the type's sensitivities) and its leak model from its own first-order log
// current; every evaluation uses its own devices, still in one batch per device model.
void solve_ladder_lanes(const LadderSpec& spec, const LadderCellType* types, const unsigned char* const* type_of_row,
                        int lanes, LadderLanesWorkspace& ws, LadderResult* out, bool* ok,
                        const double* const* cell_params = nullptr);

}  // namespace xbarkit::circuit
