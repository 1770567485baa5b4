#include "xbarkit/circuit/solver.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "xbarkit/circuit/iv_table.hpp"
#include "xbarkit/circuit/ladder.hpp"
#include "xbarkit/circuit/passive.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"

namespace xbarkit::circuit {

namespace {

using netlist::CellKind;
using netlist::Crossbar;

// The four cell configurations of a ladder array, indexed by input * 2 + weight, and their isolated
// states at the ideal terminal voltages (the Newton starting point; also the ideal-limit currents).
struct LadderCells {
  MvsFet fet;
  std::array<CellBranches, 4> cells;
  std::array<CellState, 4> ideal;
  LadderSpec spec;
};

Branch transistor_branch(const MvsFet& fet, const TransistorTable* table, double vg) {
  Branch b;
  b.vg = vg;
  if (table) {
    b.kind = Branch::Kind::fet_table;
    b.table = table;
    b.table_gate = table->gate_index(vg);
  } else {
    b.kind = Branch::Kind::fet;
    b.fet = &fet;
  }
  return b;
}

void check_user_models(const Crossbar& x, const SolveOptions& opt) {
  if (!x.user_models) return;
  const bool user_fet = !x.user_models->transistor_subckt.empty();
  const bool user_reram = !x.user_models->reram_subckt.empty();
  if (user_fet && !opt.transistor_table && x.cell != CellKind::passive)
    throw InputError("crossbar", "models.transistor",
                     fmt::format("the native solver has no built-in equations for the user transistor '{}': "
                                 "characterize it first (xbarkit characterize-cell RECIPE -o table.json) and solve "
                                 "with its table (--cell-table table.json)",
                                 x.user_models->transistor_subckt));
  if (user_reram && (x.cell == CellKind::rram1t1r || x.passive_cell == netlist::PassiveCell::reram))
    throw InputError("crossbar", "models.reram",
                     fmt::format("the native solver has no built-in equations for the user ReRAM '{}'",
                                 x.user_models->reram_subckt));
}

// LadderCells lives at a fixed address (branches point into it).
void setup_ladder(const Crossbar& x, const SolveOptions& opt, LadderCells& lc) {
  lc.fet = MvsFet(x.transistor, x.nfin);
  const TransistorTable* table = opt.transistor_table.get();
  auto& sp = lc.spec;
  sp.rows = x.rows;
  sp.reltol = opt.reltol;
  sp.max_iterations = opt.max_newton_iterations;
  sp.v_scale = std::max(x.vdd_V, x.v_read_V);
  sp.bitline_ideal = x.parasitics.r_bitline_ohm == 0;
  sp.sourceline_ideal = x.parasitics.r_sourceline_ohm == 0;
  sp.g_bitline = sp.bitline_ideal ? 0 : 1 / x.parasitics.r_bitline_ohm;
  sp.g_sourceline = sp.sourceline_ideal ? 0 : 1 / x.parasitics.r_sourceline_ohm;
  sp.v_bitline_terminal = x.v_read_V;
  sp.v_sourceline_terminal = 0;
  sp.bitline_terminal_top = x.cell == CellKind::rram1t1r;
  for (int in = 0; in < 2; ++in)
    for (int w = 0; w < 2; ++w) {
      auto& c = lc.cells[static_cast<size_t>(in * 2 + w)];
      const double vwl = in ? x.vdd_V : 0.0;  // wordlines carry no DC current: gate = driver voltage
      if (x.cell == CellKind::sram8t) {
        c.e1 = transistor_branch(lc.fet, table, vwl);
        c.e2 = transistor_branch(lc.fet, table, w ? x.vdd_V : 0.0);
      } else {
        c.e1.kind = Branch::Kind::reram;
        c.e1.reram = Reram(x.reram, w ? x.reram.gap_lrs_m : x.reram.gap_hrs_m);
        c.e2 = transistor_branch(lc.fet, table, vwl);
      }
      lc.ideal[static_cast<size_t>(in * 2 + w)] = solve_isolated_cell(c, sp.v_bitline_terminal, sp.v_sourceline_terminal);
    }
  double imax = 0;
  for (const auto& st : lc.ideal) imax = std::max(imax, std::abs(st.i));
  sp.i_scale = std::max(1e-3 * imax, 1e-21);
}

CrossbarSolution solve_ladder_array(const Crossbar& x, const SolveOptions& opt) {
  LadderCells lc;
  setup_ladder(x, opt, lc);
  CrossbarSolution sol;
  sol.rows = x.rows, sol.cols = x.cols;
  sol.column_current_A.assign(static_cast<size_t>(x.cols), 0.0);
  const auto nn = static_cast<size_t>(x.rows) * x.cols;
  if (opt.node_voltages) {
    sol.bitline_V.resize(nn), sol.sourceline_V.resize(nn), sol.wordline_V.resize(nn), sol.internal_V.resize(nn);
    for (int i = 0; i < x.rows; ++i)
      for (int j = 0; j < x.cols; ++j) sol.wordline_V[static_cast<size_t>(i) * x.cols + j] = x.input(i) ? x.vdd_V : 0.0;
  }
  std::vector<int> iterations(static_cast<size_t>(x.cols), 0);
  const bool ideal = lc.spec.bitline_ideal && lc.spec.sourceline_ideal;
  parallel_for(static_cast<size_t>(x.cols), opt.threads, [&](size_t jj) {
    const int j = static_cast<int>(jj);
    thread_local LadderWorkspace ws;
    thread_local std::vector<const CellBranches*> cells;
    thread_local std::vector<const CellState*> init;
    cells.resize(static_cast<size_t>(x.rows));
    init.resize(static_cast<size_t>(x.rows));
    for (int i = 0; i < x.rows; ++i) {
      const size_t t = static_cast<size_t>(x.input(i) * 2 + x.weight(i, j));
      cells[i] = &lc.cells[t];
      init[i] = &lc.ideal[t];
    }
    if (ideal) {
      // Both lines are ideal wires: every cell sees the terminal voltages; the column current is
      // exactly the sum of isolated cell currents.
      double sum = 0;
      for (int i = 0; i < x.rows; ++i) sum += init[i]->i;
      sol.column_current_A[jj] = sum;
      if (opt.node_voltages)
        for (int i = 0; i < x.rows; ++i) {
          const size_t k = static_cast<size_t>(i) * x.cols + j;
          sol.bitline_V[k] = lc.spec.v_bitline_terminal, sol.sourceline_V[k] = lc.spec.v_sourceline_terminal;
          sol.internal_V[k] = init[i]->x;
        }
      return;
    }
    const auto r = solve_ladder(lc.spec, cells, init, ws, j);
    sol.column_current_A[jj] = r.current_A;
    iterations[jj] = r.iterations;
    if (opt.node_voltages)
      for (int i = 0; i < x.rows; ++i) {
        const size_t k = static_cast<size_t>(i) * x.cols + j;
        sol.bitline_V[k] = ws.b[i], sol.sourceline_V[k] = ws.s[i], sol.internal_V[k] = ws.x[i];
      }
    if (opt.transistor_table)
      for (int i = 0; i < x.rows; ++i)
        for (double v : {ws.b[i], ws.s[i], ws.x[i]})
          if (!opt.transistor_table->inside(v))
            throw SolverError(fmt::format(
                "native solver: column {} row {} settles at {:.4g} V, outside the I-V table's grid [{}, {}] V; "
                "characterize the cell over a wider range", j, i, v, opt.transistor_table->grid().v_min,
                opt.transistor_table->grid().v_max));
  });
  sol.newton_iterations = *std::max_element(iterations.begin(), iterations.end());
  return sol;
}

}  // namespace

double isolated_cell_current(const Crossbar& x, bool input, bool weight, const SolveOptions& opt) {
  if (x.cell == CellKind::passive) {
    const double v = input ? x.v_read_V : 0.0;
    if (x.passive_cell == netlist::PassiveCell::resistor) return v / (weight ? x.r_lrs_ohm : x.r_hrs_ohm);
    double i, d;
    Reram(x.reram, weight ? x.reram.gap_lrs_m : x.reram.gap_hrs_m).eval(v, i, d);
    return i;
  }
  check_user_models(x, opt);
  LadderCells lc;
  setup_ladder(x, opt, lc);
  return lc.ideal[static_cast<size_t>(input * 2 + weight)].i;
}

CrossbarSolution solve_crossbar(const Crossbar& xbar, const SolveOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  xbar.validate();
  if (!(opt.reltol > 0) || opt.max_newton_iterations < 1)
    throw InputError("solve options", "reltol/max_newton_iterations", "must be positive");
  check_user_models(xbar, opt);
  CrossbarSolution sol;
  if (xbar.cell == CellKind::passive) {
    PassiveOptions po;
    po.reltol = opt.reltol;
    po.max_newton_iterations = opt.max_newton_iterations;
    sol = solve_passive(xbar, po, opt.node_voltages);
  } else {
    sol = solve_ladder_array(xbar, opt);
  }
  sol.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sol;
}

}  // namespace xbarkit::circuit
