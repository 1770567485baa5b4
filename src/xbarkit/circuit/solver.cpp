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

using netlist::BranchSpec;
using netlist::Crossbar;

// A resistor branch (cells whose ladder or grid element is linear) as a two-terminal model.
class LinearBranch final : public netlist::BranchModel {
public:
  explicit LinearBranch(double r_ohm) : g_(1 / r_ohm) {}
  void eval(double v, double& i, double& di_dv) const override { i = g_ * v, di_dv = g_; }

private:
  double g_;
};

// The four cell configurations of a ladder array, indexed by input * 2 + weight, and their isolated
// states at the ideal terminal voltages (the Newton starting point; also the ideal-limit currents).
struct LadderCells {
  MvsFet fet;
  std::array<LadderCellType, 4> types;
  std::array<netlist::LadderCellSpec, 4> specs;  // the cell kind's devices of each type
  LadderSpec spec;
  std::vector<std::shared_ptr<const netlist::BranchModel>> models;  // owned two-terminal models
};

// The native solver's branch for one device of a cell (netlist::BranchSpec).
Branch make_branch(const BranchSpec& d, const Crossbar& x, LadderCells& lc, const TransistorTable* table) {
  Branch b;
  switch (d.kind) {
    case BranchSpec::Kind::transistor:
      b.vg = d.gate_V;
      if (table) {
        b.kind = Branch::Kind::fet_table;
        b.table = table;
        b.table_gate = table->gate_index(d.gate_V);
      } else {
        b.kind = Branch::Kind::fet;
        b.fet = &lc.fet;
      }
      break;
    case BranchSpec::Kind::reram:
      b.kind = Branch::Kind::reram;
      b.reram = Reram(x.reram, d.reram_gap_m);
      break;
    case BranchSpec::Kind::resistor:
      lc.models.push_back(std::make_shared<LinearBranch>(d.resistance_ohm));
      b.kind = Branch::Kind::two_terminal;
      b.model = lc.models.back().get();
      break;
    case BranchSpec::Kind::custom:
      if (!d.custom) throw Error(fmt::format("cell kind '{}' gave a custom branch without a model (internal error)", x.cell_name()));
      lc.models.push_back(d.custom);
      b.kind = Branch::Kind::two_terminal;
      b.model = d.custom.get();
      break;
  }
  return b;
}

bool uses_transistor_natively(const Crossbar& x) { return x.kind().uses_transistor(x); }
bool uses_reram_natively(const Crossbar& x) { return x.kind().uses_reram(x); }

void check_user_models(const Crossbar& x, const SolveOptions& opt) {
  if (!x.user_models) return;
  const bool user_fet = !x.user_models->transistor_subckt.empty();
  const bool user_reram = !x.user_models->reram_subckt.empty();
  if (user_fet && !opt.transistor_table && uses_transistor_natively(x))
    throw InputError("crossbar", "models.transistor",
                     fmt::format("the native solver has no built-in equations for the user transistor '{}': "
                                 "characterize it first (xbarkit characterize-cell RECIPE -o table.json) and solve "
                                 "with its table (--cell-table table.json)",
                                 x.user_models->transistor_subckt));
  if (user_reram && uses_reram_natively(x))
    throw InputError("crossbar", "models.reram",
                     fmt::format("the native solver has no built-in equations for the user ReRAM '{}'",
                                 x.user_models->reram_subckt));
}

}  // namespace

LadderSpec ladder_spec(const Crossbar& x, double reltol, int max_iterations) {
  LadderSpec sp;
  sp.rows = x.rows;
  sp.reltol = reltol;
  sp.max_iterations = max_iterations;
  sp.v_scale = std::max(x.vdd_V, x.v_read_V);
  sp.bitline_ideal = x.parasitics.r_bitline_ohm == 0;
  sp.sourceline_ideal = x.parasitics.r_sourceline_ohm == 0;
  sp.g_bitline = sp.bitline_ideal ? 0 : 1 / x.parasitics.r_bitline_ohm;
  sp.g_sourceline = sp.sourceline_ideal ? 0 : 1 / x.parasitics.r_sourceline_ohm;
  const auto rails = x.kind().ladder_rails(x);
  sp.v_bitline_terminal = rails.v_bitline_V;
  sp.v_sourceline_terminal = rails.v_sourceline_V;
  sp.bitline_terminal_top = rails.bitline_terminal_top;
  return sp;
}

namespace {

// LadderCells lives at a fixed address (branches point into it).
void setup_ladder(const Crossbar& x, const SolveOptions& opt, LadderCells& lc) {
  lc.fet = MvsFet(x.transistor, x.nfin);
  const TransistorTable* table = opt.transistor_table.get();
  auto& sp = lc.spec;
  sp = ladder_spec(x, opt.reltol, opt.max_newton_iterations);
  for (int in = 0; in < 2; ++in)
    for (int w = 0; w < 2; ++w) {
      auto& t = lc.types[static_cast<size_t>(in * 2 + w)];
      const auto& spec = lc.specs[static_cast<size_t>(in * 2 + w)] = x.kind().ladder_cell(x, in != 0, w != 0);
      t.branches.e1 = make_branch(spec.e1, x, lc, table);
      t.branches.e2 = make_branch(spec.e2, x, lc, table);
      prepare_cell_type(t, sp);
    }
  double imax = 0;
  for (const auto& t : lc.types) imax = std::max(imax, std::abs(t.ideal.i));
  sp.i_scale = std::max(1e-3 * imax, 1e-21);
  // Leaking configurations (an off transistor: pA against uA) follow a model during Newton and are
  // solved exactly once at the converged voltages (ladder.cpp).
  for (auto& t : lc.types) t.leaking = std::abs(t.ideal.i) <= 1e-4 * imax;
}

// The branch of a type's device with one cell's mismatch (netlist::apply_variation): a transistor's
// gate shift keeps its shared MvsFet (so device batches stay batched), a ReRAM gets its own gap.
Branch varied_branch(const Branch& nominal, const BranchSpec& nominal_spec, const Crossbar& x, size_t cell, int slot) {
  if (nominal_spec.kind != BranchSpec::Kind::transistor && nominal_spec.kind != BranchSpec::Kind::reram) return nominal;
  const BranchSpec d = netlist::apply_variation(nominal_spec, x, cell, slot);
  Branch b = nominal;
  if (d.kind == BranchSpec::Kind::transistor) b.vg = d.gate_V;
  else b.reram = Reram(x.reram, d.reram_gap_m);
  return b;
}

// Arrays with per-device mismatch. Ideal wires: every cell isolated with its own devices. Otherwise
// the columns go through the lockstep solver as identical cells do, each cell with its own branch
// parameters (a transistor's gate shift -dVt, a ReRAM's ln R shift) and its own first-order starting
// state; a lane the lockstep solver does not finish is solved alone by solve_ladder with the cells'
// own branches (full Newton), which handles and reports every irregular case.
CrossbarSolution solve_varied_ladder_array(const Crossbar& x, const SolveOptions& opt, LadderCells& lc) {
  if (opt.transistor_table)
    throw InputError("crossbar", "variation", "device variation needs the built-in transistor equations (a "
                                              "SPICE-characterized I-V table describes the nominal transistor)");
  for (auto& t : lc.types) prepare_cell_sensitivities(t, lc.spec);
  CrossbarSolution sol;
  sol.rows = x.rows, sol.cols = x.cols;
  sol.column_current_A.assign(static_cast<size_t>(x.cols), 0.0);
  const auto nn = static_cast<size_t>(x.rows) * x.cols;
  if (opt.node_voltages) sol.bitline_V.resize(nn), sol.sourceline_V.resize(nn), sol.wordline_V.resize(nn), sol.internal_V.resize(nn);
  std::vector<int> iterations(static_cast<size_t>(x.cols), 0);
  const bool ideal = lc.spec.bitline_ideal && lc.spec.sourceline_ideal;
  auto type_at = [&](int i, int j) { return static_cast<unsigned char>(x.input(i) * 2 + x.weight(i, j)); };
  // Cell (i, j)'s own branches (solve_ladder and the ideal-wire path).
  auto own_branches = [&](int j, std::vector<CellBranches>& rb) {
    rb.resize(static_cast<size_t>(x.rows));
    for (int i = 0; i < x.rows; ++i) {
      const size_t t = type_at(i, j), k = static_cast<size_t>(i) * x.cols + j;
      rb[static_cast<size_t>(i)] = {varied_branch(lc.types[t].branches.e1, lc.specs[t].e1, x, k, 0),
                                    varied_branch(lc.types[t].branches.e2, lc.specs[t].e2, x, k, 1)};
    }
  };
  auto store_nodes = [&](int j, const double* b, const double* s, const double* xi, size_t stride, size_t off) {
    if (!opt.node_voltages) return;
    for (int i = 0; i < x.rows; ++i) {
      const size_t k = static_cast<size_t>(i) * x.cols + j, f = static_cast<size_t>(i) * stride + off;
      sol.bitline_V[k] = b[f], sol.sourceline_V[k] = s[f], sol.internal_V[k] = xi[f];
      sol.wordline_V[k] = x.input(i) ? x.vdd_V : 0.0;
    }
  };
  const size_t groups = (static_cast<size_t>(x.cols) + ladder_lanes - 1) / ladder_lanes;
  parallel_for(groups, opt.threads, [&](size_t g) {
    const int j0 = static_cast<int>(g) * ladder_lanes, lanes = std::min(ladder_lanes, x.cols - j0);
    thread_local LadderWorkspace ws;
    thread_local LadderLanesWorkspace lws;
    thread_local std::vector<CellBranches> rb;
    thread_local std::vector<unsigned char> type_of_row;
    thread_local std::vector<double> params;
    if (ideal) {
      for (int l = 0; l < lanes; ++l) {
        const int j = j0 + l;
        own_branches(j, rb);
        double current = 0;
        for (int i = 0; i < x.rows; ++i) {
          const auto c = solve_isolated_cell(rb[static_cast<size_t>(i)], lc.spec.v_bitline_terminal, lc.spec.v_sourceline_terminal);
          current += c.i;
          if (opt.node_voltages) {
            const size_t k = static_cast<size_t>(i) * x.cols + j;
            sol.bitline_V[k] = lc.spec.v_bitline_terminal, sol.sourceline_V[k] = lc.spec.v_sourceline_terminal;
            sol.internal_V[k] = c.x, sol.wordline_V[k] = x.input(i) ? x.vdd_V : 0.0;
          }
        }
        sol.column_current_A[static_cast<size_t>(j)] = current;
      }
      return;
    }
    const size_t rows = static_cast<size_t>(x.rows);
    type_of_row.resize(rows * ladder_lanes);
    if (x.variation.wires()) {
      // Wire spread: each column has its own line conductances, which the lockstep solver (one
      // conductance per line for all lanes) does not take: columns one by one, full Newton.
      for (int l = 0; l < lanes; ++l) {
        const int j = j0 + l;
        LadderSpec sp = lc.spec;
        sp.g_bitline /= x.variation.bitline_factor(j);
        sp.g_sourceline /= x.variation.sourceline_factor(j);
        for (int i = 0; i < x.rows; ++i) type_of_row[static_cast<size_t>(i)] = type_at(i, j);
        own_branches(j, rb);
        const auto res = solve_ladder(sp, lc.types.data(), type_of_row.data(), ws, j, rb.data());
        store_nodes(j, ws.b.data(), ws.s.data(), ws.x.data(), 1, 0);
        sol.column_current_A[static_cast<size_t>(j)] = res.current_A;
        iterations[static_cast<size_t>(j)] = res.iterations;
      }
      return;
    }
    params.resize(2 * rows * ladder_lanes);
    const unsigned char* tor[ladder_lanes];
    const double* par[ladder_lanes];
    for (int l = 0; l < lanes; ++l) {
      unsigned char* t = &type_of_row[static_cast<size_t>(l) * rows];
      double* p = &params[2 * static_cast<size_t>(l) * rows];
      for (int i = 0; i < x.rows; ++i) {
        const size_t k = static_cast<size_t>(i) * x.cols + j0 + l;
        t[i] = type_at(i, j0 + l);
        // with_param's parameter: gate shift -dVt for a transistor, ln(R/R0) for a ReRAM (draw_variation
        // fills only the slot that applies to each device, the other is 0).
        for (int e = 0; e < 2; ++e) p[2 * i + e] = x.variation.ln_r(k, e) - x.variation.dvt(k, e);
      }
      tor[l] = t, par[l] = p;
    }
    LadderResult res[ladder_lanes];
    bool ok[ladder_lanes];
    solve_ladder_lanes(lc.spec, lc.types.data(), tor, lanes, lws, res, ok, par);
    for (int l = 0; l < lanes; ++l) {
      const int j = j0 + l;
      if (ok[l]) {
        store_nodes(j, lws.b.data(), lws.s.data(), lws.x.data(), ladder_lanes, static_cast<size_t>(l));
      } else {
        own_branches(j, rb);
        res[l] = solve_ladder(lc.spec, lc.types.data(), tor[l], ws, j, rb.data());
        store_nodes(j, ws.b.data(), ws.s.data(), ws.x.data(), 1, 0);
      }
      sol.column_current_A[static_cast<size_t>(j)] = res[l].current_A;
      iterations[static_cast<size_t>(j)] = res[l].iterations;
    }
  });
  sol.newton_iterations = *std::max_element(iterations.begin(), iterations.end());
  return sol;
}

CrossbarSolution solve_ladder_array(const Crossbar& x, const SolveOptions& opt) {
  LadderCells lc;
  setup_ladder(x, opt, lc);
  if (!x.variation.empty()) return solve_varied_ladder_array(x, opt, lc);
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
  // Columns go in groups of ladder_lanes, solved in lockstep (solve_ladder_lanes); a column the
  // lockstep solver does not finish on its regular path is solved alone (solve_ladder), which
  // handles and reports every irregular case.
  const size_t groups = (static_cast<size_t>(x.cols) + ladder_lanes - 1) / ladder_lanes;
  parallel_for(groups, opt.threads, [&](size_t g) {
    const int j0 = static_cast<int>(g) * ladder_lanes, lanes = std::min(ladder_lanes, x.cols - j0);
    thread_local LadderWorkspace ws;
    thread_local LadderLanesWorkspace lws;
    thread_local std::vector<unsigned char> type_of_row;
    type_of_row.resize(static_cast<size_t>(x.rows) * ladder_lanes);
    const unsigned char* tor[ladder_lanes];
    for (int l = 0; l < lanes; ++l) {
      unsigned char* t = &type_of_row[static_cast<size_t>(l) * x.rows];
      for (int i = 0; i < x.rows; ++i) t[i] = static_cast<unsigned char>(x.input(i) * 2 + x.weight(i, j0 + l));
      tor[l] = t;
    }
    auto init = [&](int l, int i) -> const CellState& { return lc.types[tor[l][i]].ideal; };
    if (ideal) {
      // Both lines are ideal wires: every cell sees the terminal voltages; the column current is
      // exactly the sum of isolated cell currents.
      for (int l = 0; l < lanes; ++l) {
        const int j = j0 + l;
        double sum = 0;
        for (int i = 0; i < x.rows; ++i) sum += init(l, i).i;
        sol.column_current_A[static_cast<size_t>(j)] = sum;
        if (opt.node_voltages)
          for (int i = 0; i < x.rows; ++i) {
            const size_t k = static_cast<size_t>(i) * x.cols + j;
            sol.bitline_V[k] = lc.spec.v_bitline_terminal, sol.sourceline_V[k] = lc.spec.v_sourceline_terminal;
            sol.internal_V[k] = init(l, i).x;
          }
      }
      return;
    }
    LadderResult res[ladder_lanes];
    bool ok[ladder_lanes];
    solve_ladder_lanes(lc.spec, lc.types.data(), tor, lanes, lws, res, ok);
    for (int l = 0; l < lanes; ++l) {
      const int j = j0 + l;
      const double *b, *s, *xi;
      size_t stride = 1, off = 0;
      if (ok[l]) {
        b = lws.b.data(), s = lws.s.data(), xi = lws.x.data(), stride = ladder_lanes, off = static_cast<size_t>(l);
      } else {
        res[l] = solve_ladder(lc.spec, lc.types.data(), tor[l], ws, j);
        b = ws.b.data(), s = ws.s.data(), xi = ws.x.data();
      }
      sol.column_current_A[static_cast<size_t>(j)] = res[l].current_A;
      iterations[static_cast<size_t>(j)] = res[l].iterations;
      for (int i = 0; i < x.rows; ++i) {
        const size_t f = static_cast<size_t>(i) * stride + off;
        if (opt.node_voltages) {
          const size_t k = static_cast<size_t>(i) * x.cols + j;
          sol.bitline_V[k] = b[f], sol.sourceline_V[k] = s[f], sol.internal_V[k] = xi[f];
        }
        if (opt.transistor_table)
          for (double v : {b[f], s[f], xi[f]})
            if (!opt.transistor_table->inside(v))
              throw SolverError(fmt::format(
                  "native solver: column {} row {} settles at {:.4g} V, outside the I-V table's grid [{}, {}] V; "
                  "characterize the cell over a wider range", j, i, v, opt.transistor_table->grid().v_min,
                  opt.transistor_table->grid().v_max));
      }
    }
  });
  sol.newton_iterations = *std::max_element(iterations.begin(), iterations.end());
  return sol;
}

}  // namespace

double isolated_cell_current(const Crossbar& x, bool input, bool weight, const SolveOptions& opt) {
  if (x.kind().topology() == netlist::Topology::grid) {
    // A grid cell between its row driver (v_read for input 1) and the column's 0 V sense node, with
    // the stored bit.
    const double v = input ? x.v_read_V : 0.0;
    LadderCells lc;
    const Branch b = make_branch(x.kind().grid_cell(x, weight, nullptr), x, lc, nullptr);
    return b.current(v, 0.0).i;
  }
  check_user_models(x, opt);
  LadderCells lc;
  setup_ladder(x, opt, lc);
  return lc.types[static_cast<size_t>(input * 2 + weight)].ideal.i;
}

CrossbarSolution solve_crossbar(const Crossbar& xbar, const SolveOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  xbar.validate();
  if (!(opt.reltol > 0) || opt.max_newton_iterations < 1)
    throw InputError("solve options", "reltol/max_newton_iterations", "must be positive");
  check_user_models(xbar, opt);
  CrossbarSolution sol;
  if (xbar.kind().topology() == netlist::Topology::grid) {
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
