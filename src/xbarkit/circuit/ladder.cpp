#include "xbarkit/circuit/ladder.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "xbarkit/circuit/iv_table.hpp"
#include "xbarkit/core/error.hpp"

namespace xbarkit::circuit {

BranchResidual Branch::residual(double i, double va, double vb) const {
  switch (kind) {
    case Kind::fet: return fet->residual(i, va, vg, vb);
    case Kind::fet_table: {
      const IV2 t = table->eval(table_gate, va, vb);
      return {i - t.i, 1.0, -t.d1, -t.d2};
    }
    case Kind::reram: break;
    case Kind::two_terminal: {
      double c, d;
      model->eval(va - vb, c, d);
      return {i - c, 1.0, -d, d};
    }
  }
  double c, d;
  reram.eval(va - vb, c, d);
  return {i - c, 1.0, -d, d};
}

IV2 Branch::current(double va, double vb) const {
  switch (kind) {
    case Kind::fet: return fet->current(va, vg, vb);
    case Kind::fet_table: return table->eval(table_gate, va, vb);
    case Kind::reram: break;
    case Kind::two_terminal: {
      double c, d;
      model->eval(va - vb, c, d);
      return {c, d, -d};
    }
  }
  double c, d;
  reram.eval(va - vb, c, d);
  return {c, d, -d};
}

CellState solve_isolated_cell(const CellBranches& cell, double va, double vb, double x_start) {
  // F(x) = I1(va, x) - I2(x, vb) is decreasing in x; F(va) <= 0 <= F(vb) when va >= vb (each branch
  // carries no current with equal terminal voltages), so the root is bracketed by [vb, va].
  if (va == vb) return {va, 0.0};
  double lo = std::min(va, vb), hi = std::max(va, vb);
  double x = x_start > lo && x_start < hi ? x_start : 0.5 * (lo + hi);
  IV2 i1{}, i2{};
  for (int it = 0; it < 400; ++it) {
    i1 = cell.e1.current(va, x);
    i2 = cell.e2.current(x, vb);
    const double f = i1.i - i2.i, df = i1.d2 - i2.d1;
    if (f == 0) break;
    if (f > 0) lo = x; else hi = x;  // decreasing F: root above x when F > 0
    double next = df < 0 ? x - f / df : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const double step = std::abs(next - x);
    x = next;
    if (step <= 1e-16 || hi - lo <= 1e-16) {
      i1 = cell.e1.current(va, x);
      break;
    }
  }
  return {x, i1.i};
}

void LadderWorkspace::resize(int rows) {
  const auto n = static_cast<size_t>(rows);
  for (auto* v : {&b, &s, &x, &i, &c0, &cb, &cs, &x0, &xb, &xs, &db, &ds}) v->resize(n);
  dinv.resize(4 * n);
  rp.resize(2 * n);
  this->rows.resize(n);
  res.resize(2 * n);
  for (auto* v : {&q_id, &q_vd, &q_vg, &q_vs, &q_g, &q_gi, &q_ga, &q_gb}) v->resize(2 * n);
  q_slot.resize(2 * n);
}

namespace {

// Newton linearization of one cell condensed onto its terminal updates (db, ds):
//   [g1_x g1_I; g2_x g2_I] [dx; dI] = -[g1 + g1_a db; g2 + g2_b ds]
//   => dx = x0 + xb db + xs ds, dI = c0 + cb db + cs ds.
struct Condensed {
  double c0, cb, cs, x0, xb, xs;
};

// false if the 2x2 cell matrix is singular (the internal node floats).
inline bool condense(const BranchResidual& r1, const BranchResidual& r2, Condensed& o) {
  const double m00 = r1.g_b, m01 = r1.g_i, m10 = r2.g_a, m11 = r2.g_i;
  const double det = m00 * m11 - m01 * m10;
  if (!(std::abs(det) > 1e-300) || !std::isfinite(det)) return false;
  const double inv = 1 / det;
  // M^-1 = inv * [m11 -m01; -m10 m00]
  o.x0 = inv * (m11 * -r1.g - m01 * -r2.g);
  o.c0 = inv * (-m10 * -r1.g + m00 * -r2.g);
  o.xb = inv * (m11 * -r1.g_a);
  o.cb = inv * (-m10 * -r1.g_a);
  o.xs = inv * (-m01 * -r2.g_b);
  o.cs = inv * (m00 * -r2.g_b);
  return true;
}

// Branch residuals of the cells in ws.rows[0..count) at states (i, b, x, s): ws.res[2k] (a -> x) and
// ws.res[2k+1] (x -> b) for the k-th listed row. Built-in transistors go through one vectorized
// batch per MvsFet; other branches are evaluated one by one.
void eval_cells(const LadderCellType* types, const unsigned char* type_of_row, const CellBranches* row_branches,
                int count, const double* i, const double* b, const double* x, const double* s, LadderWorkspace& ws) {
  const MvsFet* fet = nullptr;
  int q = 0;
  for (int k = 0; k < count; ++k) {
    const int r = ws.rows[k];
    const auto& c = row_branches ? row_branches[r] : types[type_of_row[r]].branches;
    for (int e = 0; e < 2; ++e) {
      const Branch& br = e == 0 ? c.e1 : c.e2;
      const double va = e == 0 ? b[r] : x[r], vb = e == 0 ? x[r] : s[r];
      if (br.kind == Branch::Kind::fet && (fet == nullptr || fet == br.fet)) {
        fet = br.fet;
        ws.q_id[q] = i[r], ws.q_vd[q] = va, ws.q_vg[q] = br.vg, ws.q_vs[q] = vb, ws.q_slot[q] = 2 * k + e;
        ++q;
      } else {
        ws.res[2 * k + e] = br.residual(i[r], va, vb);
      }
    }
  }
  if (q == 0) return;
  fet->residual_batch(q, ws.q_id.data(), ws.q_vd.data(), ws.q_vg.data(), ws.q_vs.data(), ws.q_g.data(),
                      ws.q_gi.data(), ws.q_ga.data(), ws.q_gb.data());
  for (int j = 0; j < q; ++j) ws.res[ws.q_slot[j]] = {ws.q_g[j], ws.q_gi[j], ws.q_ga[j], ws.q_gb[j]};
}

[[noreturn]] void throw_floating_cell(int column, int r) {
  throw SolverError(fmt::format(
      "native solver: singular network in column {}, row {}: the cell's internal node is floating "
      "(both of its branches have zero conductance)", column, r));
}

}  // namespace

void prepare_cell_type(LadderCellType& t, const LadderSpec& sp) {
  const double va = sp.v_bitline_terminal, vb = sp.v_sourceline_terminal;
  t.ideal = solve_isolated_cell(t.branches, va, vb);
  Condensed c{};
  if (!condense(t.branches.e1.residual(t.ideal.i, va, t.ideal.x), t.branches.e2.residual(t.ideal.i, t.ideal.x, vb), c))
    c = {};  // floating internal node: solve_ladder evaluates (and reports) it
  t.c0 = c.c0, t.cb = c.cb, t.cs = c.cs, t.x0 = c.x0, t.xb = c.xb, t.xs = c.xs;
  t.lb = t.ideal.i != 0 ? c.cb / t.ideal.i : 0.0;
  t.ls = t.ideal.i != 0 ? c.cs / t.ideal.i : 0.0;
}

// Newton on the whole column (block-tridiagonal steps), with three savings over evaluating every
// device at every iteration, none of which changes the converged answer beyond the tolerance:
//  1. Iteration 1 starts from the ideal state, where every cell of a type has the same state: it
//     uses the type's cached linearization (no device evaluation).
//  2. Leaking cells (pA against uA) follow the log-linear model I = I0 exp(lb db + ls ds) fitted at
//     the ideal point while the conducting cells converge; then each is solved exactly (a local
//     Newton on its own two branches at the converged terminal voltages, to a share of the column
//     tolerance) and the change of its current, a pA-level KCL mismatch, is propagated to the
//     column by one more linear solve with the last Jacobian (first order in a pA correction:
//     exact to ~(dI/I_column)^2). If the correction is not negligible, full Newton takes over.
//  3. The stopping rule uses Newton's quadratic convergence to bound the error left after the last
//     update (so a converged column does not spend one more evaluation only to confirm it).
LadderResult solve_ladder(const LadderSpec& sp, const LadderCellType* types, const unsigned char* type_of_row,
                          LadderWorkspace& ws, int column, const CellBranches* row_branches) {
  const int n = sp.rows;
  ws.resize(n);
  const double gb = sp.bitline_ideal ? 0.0 : sp.g_bitline, gs = sp.sourceline_ideal ? 0.0 : sp.g_sourceline;
  const int tb = sp.bitline_terminal_top ? 0 : n - 1;  // row whose bitline node touches the terminal
  const double vtol = sp.reltol * sp.v_scale;
  const double vb0 = sp.v_bitline_terminal, vs0 = sp.v_sourceline_terminal;
  constexpr double v_limit = 0.1;  // V: largest node update per Newton step (SPICE-like step limiting)

  // Cells with their own devices have no shared linearization or leak model: full Newton.
  bool model = sp.model_leakers && row_branches == nullptr;
  int n_leak = 0;
  for (int r = 0; r < n; ++r) {
    const auto& t = types[type_of_row[r]];
    ws.b[r] = vb0;
    ws.s[r] = vs0;
    ws.x[r] = t.ideal.x;
    ws.i[r] = t.ideal.i;
    n_leak += t.leaking;
  }
  if (n_leak == 0) model = false;
  LadderResult out;
  double last_dv = 0, last_di = 0, prev_e = -1;
  bool at_ideal = row_branches == nullptr;  // state is the ideal state of every cell
  bool finished = false;
  for (int it = 1; it <= sp.max_iterations; ++it) {
    // 1. Linearize every cell and condense its internal unknowns (dx, dI) onto (db, ds).
    int count = 0, n_model = 0;
    for (int r = 0; r < n; ++r) {
      const auto& t = types[type_of_row[r]];
      Condensed c;
      if (at_ideal) {
        c = {t.c0, t.cb, t.cs, t.x0, t.xb, t.xs};
      } else if (model && t.leaking) {
        ws.q_id[n_model] = t.lb * (ws.b[r] - vb0) + t.ls * (ws.s[r] - vs0);  // exponent of the model
        ws.q_slot[n_model++] = r;
        continue;
      } else {
        ws.rows[count++] = r;  // evaluated below, in one batch
        continue;
      }
      ws.c0[r] = c.c0, ws.cb[r] = c.cb, ws.cs[r] = c.cs, ws.x0[r] = c.x0, ws.xb[r] = c.xb, ws.xs[r] = c.xs;
    }
    if (n_model > 0) {  // leaking cells: I = I0 exp(lb db + ls ds), x linear in (db, ds)
      exp_batch(n_model, ws.q_id.data(), ws.q_g.data());
      for (int k = 0; k < n_model; ++k) {
        const int r = ws.q_slot[k];
        const auto& t = types[type_of_row[r]];
        const double db = ws.b[r] - vb0, ds = ws.s[r] - vs0, im = t.ideal.i * ws.q_g[k];
        ws.c0[r] = im - ws.i[r], ws.cb[r] = t.lb * im, ws.cs[r] = t.ls * im;
        ws.x0[r] = t.ideal.x + t.xb * db + t.xs * ds - ws.x[r], ws.xb[r] = t.xb, ws.xs[r] = t.xs;
      }
    }
    if (count > 0) {
      eval_cells(types, type_of_row, row_branches, count, ws.i.data(), ws.b.data(), ws.x.data(), ws.s.data(), ws);
      out.device_evaluations += 2 * count;
      for (int k = 0; k < count; ++k) {
        const int r = ws.rows[k];
        Condensed c;
        if (!condense(ws.res[2 * k], ws.res[2 * k + 1], c)) throw_floating_cell(column, r);
        ws.c0[r] = c.c0, ws.cb[r] = c.cb, ws.cs[r] = c.cs, ws.x0[r] = c.x0, ws.xb[r] = c.xb, ws.xs[r] = c.xs;
      }
    }
    at_ideal = false;
    // 2. Block-tridiagonal system in (db, ds). Row r: currents leaving b_r / s_r (KCL residuals F),
    //    Jacobian D_r = [Gb_deg + cb, cs; -cb, Gs_deg - cs], coupling -Gb, -Gs to rows r +- 1.
    for (int r = 0; r < n; ++r) {
      double fb = ws.i[r], fs = -ws.i[r];
      double degb = 0, degs = 0;
      if (r > 0) fb += gb * (ws.b[r] - ws.b[r - 1]), fs += gs * (ws.s[r] - ws.s[r - 1]), degb += gb, degs += gs;
      if (r < n - 1) fb += gb * (ws.b[r] - ws.b[r + 1]), fs += gs * (ws.s[r] - ws.s[r + 1]), degb += gb, degs += gs;
      if (r == tb) fb += gb * (ws.b[r] - sp.v_bitline_terminal), degb += gb;
      if (r == n - 1) fs += gs * (ws.s[r] - sp.v_sourceline_terminal), degs += gs;
      double d00 = degb + ws.cb[r], d01 = ws.cs[r], d10 = -ws.cb[r], d11 = degs - ws.cs[r];
      double r0 = -fb - ws.c0[r], r1 = -fs + ws.c0[r];
      if (sp.bitline_ideal) d00 = 1, d01 = 0, r0 = 0;    // merged node: held at its terminal
      if (sp.sourceline_ideal) d10 = 0, d11 = 1, r1 = 0;
      if (r > 0) {  // eliminate the previous row: D -= E Dinv_{r-1} E, rhs -= E Dinv_{r-1} rp_{r-1}
        const double* p = &ws.dinv[4 * (r - 1)];
        const double e0 = -gb, e1 = -gs;
        d00 -= e0 * p[0] * e0, d01 -= e0 * p[1] * e1, d10 -= e1 * p[2] * e0, d11 -= e1 * p[3] * e1;
        const double y0 = p[0] * ws.rp[2 * (r - 1)] + p[1] * ws.rp[2 * (r - 1) + 1];
        const double y1 = p[2] * ws.rp[2 * (r - 1)] + p[3] * ws.rp[2 * (r - 1) + 1];
        r0 -= e0 * y0, r1 -= e1 * y1;
      }
      const double det = d00 * d11 - d01 * d10;
      const double scale = std::abs(d00 * d11) + std::abs(d01 * d10);
      if (!(std::abs(det) > 1e-14 * scale))  // also false for nan/inf (then scale is inf or nan)
        throw SolverError(fmt::format(
            "native solver: singular network in column {} at row {} (a floating bitline/source-line node: "
            "zero wire conductance and no conducting cell)", column, r));
      const double inv_det = 1 / det;
      double* p = &ws.dinv[4 * r];
      p[0] = d11 * inv_det, p[1] = -d01 * inv_det, p[2] = -d10 * inv_det, p[3] = d00 * inv_det;
      ws.rp[2 * r] = r0, ws.rp[2 * r + 1] = r1;
    }
    for (int r = n - 1; r >= 0; --r) {
      double r0 = ws.rp[2 * r], r1 = ws.rp[2 * r + 1];
      if (r < n - 1) r0 += gb * ws.db[r + 1], r1 += gs * ws.ds[r + 1];  // rhs - E delta_{r+1}, E = -G
      const double* p = &ws.dinv[4 * r];
      ws.db[r] = p[0] * r0 + p[1] * r1;
      ws.ds[r] = p[2] * r0 + p[3] * r1;
    }
    // 3. Damped update: node steps are limited to v_limit (whole step scaled), each cell's internal
    //    step to v_limit (that cell's step scaled).
    double max_dv = 0;
    for (int r = 0; r < n; ++r) max_dv = std::max(max_dv, std::max(std::abs(ws.db[r]), std::abs(ws.ds[r])));
    const double damp = max_dv > v_limit ? v_limit / max_dv : 1.0;
    if (!std::isfinite(max_dv))
      throw SolverError(fmt::format("native solver: Newton produced a non-finite update in column {} at iteration {}",
                                    column, it));
    bool converged = damp == 1.0;
    double step_v = 0, step_i = 0;
    for (int r = 0; r < n; ++r) {
      const double db = damp * ws.db[r], ds = damp * ws.ds[r];
      double dx = damp * ws.x0[r] + ws.xb[r] * db + ws.xs[r] * ds;
      double di = damp * ws.c0[r] + ws.cb[r] * db + ws.cs[r] * ds;
      if (std::abs(dx) > v_limit) {
        const double k = v_limit / std::abs(dx);
        dx *= k, di *= k;
        converged = false;
      }
      ws.b[r] += db, ws.s[r] += ds, ws.x[r] += dx, ws.i[r] += di;
      const double rel_i = std::abs(di) / (std::abs(ws.i[r]) + sp.i_scale);
      // The internal node x is not tested: it only matters through the cell current, which is.
      step_v = std::max(step_v, std::max(std::abs(db), std::abs(ds)));
      step_i = std::max(step_i, rel_i);
    }
    last_dv = step_v, last_di = step_i;
    if (!std::isfinite(step_v) || !std::isfinite(step_i))
      throw SolverError(fmt::format("native solver: Newton produced a non-finite update in column {} at iteration {}",
                                    column, it));
    // Stop when this update was below tolerance, or when the contraction of successive updates
    // bounds the error left after it below tolerance: theta = e_k / e_{k-1} and theta/(1-theta) e_k
    // (Hairer & Wanner's rule for linear contraction), or, once Newton is clearly in its quadratic
    // regime (theta < 0.1), the quadratic prediction e_{k+1} ~ e_k^3 / e_{k-1}^2 = theta^2 e_k with a
    // safety factor of 10.
    const double e = std::max(step_v / vtol, step_i / sp.reltol);
    const double theta = prev_e > 0 ? e / prev_e : 1.0;
    const bool done = converged && (e <= 1 || (theta < 0.5 && theta / (1 - theta) * e <= 1) ||
                                    (theta < 0.1 && 10 * theta * theta * e <= 1));
    prev_e = converged ? e : -1;
    out.iterations = it;
    if (!done) continue;
    if (!model) {
      finished = true;
      break;
    }
    // 4. Leaking cells exactly: local Newton on (x, I) of each at its converged (b, s), each to a
    //    share of the column tolerance; then propagate the current changes through the column.
    double icol = 0;
    for (int r = 0; r < n; ++r) icol += ws.i[r];
    const double tol_cell = 0.1 * sp.reltol * (std::abs(icol) + sp.i_scale) / n_leak;
    double sum_delta = 0;
    // First local Newton step of every leaking cell in one batch (from the model state), further
    // steps (rarely needed) one cell at a time.
    count = 0;
    for (int r = 0; r < n; ++r) {
      ws.rp[2 * r] = ws.rp[2 * r + 1] = 0;
      if (types[type_of_row[r]].leaking) ws.rows[count++] = r;
    }
    eval_cells(types, type_of_row, nullptr, count, ws.i.data(), ws.b.data(), ws.x.data(), ws.s.data(), ws);
    out.device_evaluations += 2 * count;
    for (int k = 0; k < count; ++k) {
      const int r = ws.rows[k];
      const auto& t = types[type_of_row[r]];
      double x = ws.x[r], i = ws.i[r];
      BranchResidual r1 = ws.res[2 * k], r2 = ws.res[2 * k + 1];
      bool ok = false;
      for (int step = 0; step < 30; ++step) {
        if (step > 0) {
          r1 = t.branches.e1.residual(i, ws.b[r], x);
          r2 = t.branches.e2.residual(i, x, ws.s[r]);
          out.device_evaluations += 2;
        }
        Condensed c;
        if (!condense(r1, r2, c)) throw_floating_cell(column, r);
        double dx = c.x0, di = c.c0;
        if (std::abs(dx) > v_limit) di *= v_limit / std::abs(dx), dx = std::copysign(v_limit, dx);
        x += dx, i += di;
        // Quadratic convergence: what is left after this step is ~ di^2 / |I| (relative error squared).
        const double left = di * di / (std::abs(i) + 1e-300);
        if (std::abs(di) <= tol_cell || (std::abs(di) <= 0.1 * std::abs(i) && left <= tol_cell)) {
          ok = true;
          break;
        }
      }
      if (!ok || !std::isfinite(i)) {
        sum_delta = std::numeric_limits<double>::infinity();
        break;
      }
      const double delta = i - ws.i[r];
      sum_delta += std::abs(delta);
      ws.x[r] = x, ws.i[r] = i;
      // KCL residual of the column after the change: +delta leaves b_r, -delta leaves s_r.
      ws.rp[2 * r] = -delta, ws.rp[2 * r + 1] = delta;
    }
    if (!(sum_delta <= 0.1 * std::sqrt(sp.reltol) * (std::abs(icol) + sp.i_scale))) {
      model = false;
      prev_e = -1;
      continue;
    }
    // One linear solve with the last Jacobian (its inverse pivots are in dinv): forward elimination
    // of the rhs, back substitution, then the linear update of every cell.
    for (int r = 0; r < n; ++r) {
      if (sp.bitline_ideal) ws.rp[2 * r] = 0;
      if (sp.sourceline_ideal) ws.rp[2 * r + 1] = 0;
      if (r > 0) {
        const double* p = &ws.dinv[4 * (r - 1)];
        ws.rp[2 * r] += gb * (p[0] * ws.rp[2 * (r - 1)] + p[1] * ws.rp[2 * (r - 1) + 1]);
        ws.rp[2 * r + 1] += gs * (p[2] * ws.rp[2 * (r - 1)] + p[3] * ws.rp[2 * (r - 1) + 1]);
      }
    }
    for (int r = n - 1; r >= 0; --r) {
      double r0 = ws.rp[2 * r], r1 = ws.rp[2 * r + 1];
      if (r < n - 1) r0 += gb * ws.db[r + 1], r1 += gs * ws.ds[r + 1];
      const double* p = &ws.dinv[4 * r];
      ws.db[r] = p[0] * r0 + p[1] * r1;
      ws.ds[r] = p[2] * r0 + p[3] * r1;
    }
    for (int r = 0; r < n; ++r) {
      const double db = ws.db[r], ds = ws.ds[r];
      ws.b[r] += db, ws.s[r] += ds;
      ws.i[r] += ws.cb[r] * db + ws.cs[r] * ds;
      ws.x[r] += ws.xb[r] * db + ws.xs[r] * ds;
    }
    finished = true;
    break;
  }
  if (!finished)
    throw SolverError(fmt::format(
        "native solver: Newton did not converge in column {} after {} iterations (last update: {:.3g} V on a node, "
        "{:.3g} relative on a cell current; tolerance {:.3g} V / {:.3g}); check the device and wire parameters",
        column, sp.max_iterations, last_dv, last_di, vtol, sp.reltol));
  for (int r = 0; r < n; ++r) out.current_A += ws.i[r];
  return out;
}

Branch with_param(const Branch& nominal, double p) {
  Branch b = nominal;
  if (b.kind == Branch::Kind::fet) b.vg += p;
  else if (b.kind == Branch::Kind::reram) b.reram = b.reram.with_ln_r(p);
  return b;
}

void prepare_cell_sensitivities(LadderCellType& t, const LadderSpec& sp) {
  // Central differences from one pair of isolated solves per branch (these solves are most of the
  // fixed cost of a varied solve: 16 for the four cell types). The step, 1 mV of gate shift (or
  // 1e-3 in ln R), is far inside the sigmas (30-125 mV, 0.1-0.3 in ln R) and far above the isolated
  // solve's 1e-16 V resolution: the slopes' truncation error is (h/(n phi))^2/6 ~ 2e-4 relative for
  // the steepest (subthreshold, exponential) current, and ln I's second difference keeps ~11
  // significant digits (its numerator is ~1e-4 against 1e-15 rounding).
  constexpr double h = 1e-3;
  for (int e = 0; e < 2; ++e) {
    CellBranches up = t.branches, down = t.branches;
    (e == 0 ? up.e1 : up.e2) = with_param(e == 0 ? t.branches.e1 : t.branches.e2, h);
    (e == 0 ? down.e1 : down.e2) = with_param(e == 0 ? t.branches.e1 : t.branches.e2, -h);
    // Started at the nominal root (1 mV away from theirs): a few Newton steps instead of bisection.
    const auto a = solve_isolated_cell(up, sp.v_bitline_terminal, sp.v_sourceline_terminal, t.ideal.x);
    const auto b = solve_isolated_cell(down, sp.v_bitline_terminal, sp.v_sourceline_terminal, t.ideal.x);
    t.sx[e] = (a.x - b.x) / (2 * h);
    t.si[e] = (a.i - b.i) / (2 * h);
    // Curvature of ln I (the leak model's second-order term): a leaking cell's current is nearly
    // exponential in its gate shift, the rest (MVS's smooth transition, the series device) is
    // second order.
    t.lii[e] = t.ideal.i > 0 && a.i > 0 && b.i > 0
                   ? (std::log(a.i) - 2 * std::log(t.ideal.i) + std::log(b.i)) / (h * h) : 0.0;
  }
}

void LadderLanesWorkspace::resize(int rows) {
  const auto m = static_cast<size_t>(rows) * ladder_lanes;
  for (auto* v : {&b, &s, &x, &i, &c0, &cb, &cs, &x0, &xb, &xs, &db, &ds, &p0, &p1, &p2, &p3, &r0, &r1, &m_i0, &m_lb,
                  &m_ls, &m_x, &m_xb, &m_xs, &m_e, &m_ex, &dev1, &dev2, &par1, &par2})
    v->resize(m);
  cond_f.resize(m), leak_f.resize(m), list_f.resize(m);
  cond_t.resize(m), leak_t.resize(m), list_t.resize(m);
  for (auto* v : {&q_id, &q_vd, &q_vg, &q_vs, &q_g, &q_gi, &q_ga, &q_gb, &rg, &rgi, &rga, &rgb}) v->resize(2 * m);
}

namespace {

// The LaneV helpers below are always inlined: no call passes a vector, so GCC's note that AVX
// vector arguments change the ABI of the non-AVX clone does not apply (to the end of the file).
#pragma GCC diagnostic ignored "-Wpsabi"

// One value per lane (GCC vector extension: SIMD on any x86-64 target, 2 x SSE2 or 1 x AVX2).
static_assert(ladder_lanes == 4, "the lockstep solver packs the lanes into one 4-wide vector");
typedef double LaneV __attribute__((vector_size(4 * sizeof(double)), aligned(sizeof(double))));

[[gnu::always_inline]] inline LaneV ld(const double* p) {
  LaneV v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void st(double* p, const LaneV& v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline LaneV splat(double a) { return LaneV{a, a, a, a}; }
typedef long long LaneI __attribute__((vector_size(4 * sizeof(double)), aligned(sizeof(double))));
[[gnu::always_inline]] inline LaneV vabs(const LaneV& a) {  // clears the sign bit (one and; nan stays nan)
  return reinterpret_cast<LaneV>(reinterpret_cast<LaneI>(a) & static_cast<long long>(0x7fffffffffffffffULL));
}
// max (maxpd: a nan of `a` is dropped; the callers check finiteness separately)
[[gnu::always_inline]] inline LaneV vmax(const LaneV& a, const LaneV& acc) { return a > acc ? a : acc; }

// How each branch position (0: a -> x, 1: x -> b) is evaluated: built-in transistors of one MvsFet
// in every cell type used go through residual_batch, ReRAMs (one v0) through sinh_cosh_batch, both
// without per-branch dispatch, a cell's own two-terminal model (one model) through its eval_batch;
// anything else branch by branch (Branch::residual).
struct BatchPlan {
  const MvsFet* fet[2] = {nullptr, nullptr};
  bool reram[2] = {false, false};
  double inv_v0[2] = {0, 0};
  const netlist::BranchModel* model[2] = {nullptr, nullptr};
};

BatchPlan plan_batches(const LadderCellType* types, const bool* used, int n_types) {
  BatchPlan p;
  for (int e = 0; e < 2; ++e) {
    const MvsFet* f = nullptr;
    const netlist::BranchModel* m = nullptr;
    bool all_fet = true, all_reram = true, all_model = true, first = true;
    double inv_v0 = 0;
    for (int t = 0; t < n_types; ++t) {
      if (!used[t]) continue;
      const Branch& br = e == 0 ? types[t].branches.e1 : types[t].branches.e2;
      if (br.kind != Branch::Kind::fet || (f != nullptr && f != br.fet)) all_fet = false;
      else f = br.fet;
      if (br.kind != Branch::Kind::reram || (!first && br.reram.inv_v0_per_V() != inv_v0)) all_reram = false;
      else inv_v0 = br.reram.inv_v0_per_V();
      if (br.kind != Branch::Kind::two_terminal || (m != nullptr && m != br.model)) all_model = false;
      else m = br.model;
      first = false;
    }
    p.model[e] = all_model ? m : nullptr;
    p.fet[e] = all_fet ? f : nullptr;
    p.reram[e] = !all_fet && all_reram && !first;
    p.inv_v0[e] = inv_v0;
  }
  return p;
}

// Branch residuals of the listed cells (flat index fl[k], type tl[k], k < count) into ws.rg, rgi,
// rga, rgb at [e * count + k] (e = 0: a -> x, e = 1: x -> b).
void eval_list(const LadderCellType* types, const BatchPlan& plan, int count, const int* fl, const unsigned char* tl,
               LadderLanesWorkspace& ws) {
  if (count == 0) return;
  const double *b = ws.b.data(), *s = ws.s.data(), *x = ws.x.data(), *i = ws.i.data();
  const bool one_batch = plan.fet[0] != nullptr && plan.fet[0] == plan.fet[1];
  for (int e = 0; e < 2; ++e) {
    const int o = e * count;
    double *rg = ws.rg.data() + o, *rgi = ws.rgi.data() + o, *rga = ws.rga.data() + o, *rgb = ws.rgb.data() + o;
    if (plan.fet[e] != nullptr) {
      double *qi = ws.q_id.data() + o, *qd = ws.q_vd.data() + o, *qg = ws.q_vg.data() + o, *qs = ws.q_vs.data() + o;
      for (int k = 0; k < count; ++k) {
        const int f = fl[k];
        const Branch& br = e == 0 ? types[tl[k]].branches.e1 : types[tl[k]].branches.e2;
        qi[k] = i[f], qd[k] = e == 0 ? b[f] : x[f], qg[k] = ws.dev[e] ? ws.dev[e][f] : br.vg, qs[k] = e == 0 ? x[f] : s[f];
      }
      if (!one_batch) plan.fet[e]->residual_batch(count, qi, qd, qg, qs, rg, rgi, rga, rgb);
    } else if (plan.reram[e]) {  // as Reram::eval and Branch::residual: {I - i, 1, -di/dv, di/dv}
      double *u = ws.q_id.data() + o, *sh = ws.q_g.data() + o, *ch = ws.q_gi.data() + o;
      const double inv_v0 = plan.inv_v0[e];
      for (int k = 0; k < count; ++k) {
        const int f = fl[k];
        u[k] = (e == 0 ? b[f] - x[f] : x[f] - s[f]) * inv_v0;
      }
      sinh_cosh_batch(count, u, sh, ch);
      for (int k = 0; k < count; ++k) {
        const Branch& br = e == 0 ? types[tl[k]].branches.e1 : types[tl[k]].branches.e2;
        const double kk = ws.dev[e] ? ws.dev[e][fl[k]] : br.reram.scale_A(), d = kk * ch[k] * inv_v0;
        rg[k] = i[fl[k]] - kk * sh[k], rgi[k] = 1.0, rga[k] = -d, rgb[k] = d;
      }
    } else if (plan.model[e] != nullptr) {  // as Branch::residual for two_terminal
      double *u = ws.q_id.data() + o, *cur = ws.q_g.data() + o, *di = ws.q_gi.data() + o;
      for (int k = 0; k < count; ++k) {
        const int f = fl[k];
        u[k] = e == 0 ? b[f] - x[f] : x[f] - s[f];
      }
      plan.model[e]->eval_batch(count, u, cur, di);
      for (int k = 0; k < count; ++k) rg[k] = i[fl[k]] - cur[k], rgi[k] = 1.0, rga[k] = -di[k], rgb[k] = di[k];
    } else {
      for (int k = 0; k < count; ++k) {
        const int f = fl[k];
        const Branch& nominal = e == 0 ? types[tl[k]].branches.e1 : types[tl[k]].branches.e2;
        const Branch br = ws.par[e] ? with_param(nominal, ws.par[e][f]) : nominal;
        const BranchResidual r = e == 0 ? br.residual(i[f], b[f], x[f]) : br.residual(i[f], x[f], s[f]);
        rg[k] = r.g, rgi[k] = r.g_i, rga[k] = r.g_a, rgb[k] = r.g_b;
      }
    }
  }
  if (one_batch)
    plan.fet[0]->residual_batch(2 * count, ws.q_id.data(), ws.q_vd.data(), ws.q_vg.data(), ws.q_vs.data(),
                                ws.rg.data(), ws.rgi.data(), ws.rga.data(), ws.rgb.data());
}

}  // namespace

// The algorithm of solve_ladder, every row loop over the lanes packed in one vector (LaneV): the
// block-Thomas chains of the four columns run side by side, and the state is stored lane-fastest
// ([row * 4 + lane]) so that each row of every array is one vector load.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void solve_ladder_lanes(const LadderSpec& sp, const LadderCellType* types, const unsigned char* const* tor, int lanes,
                        LadderLanesWorkspace& ws, LadderResult* out, bool* ok, const double* const* cell_params) {
  constexpr int W = ladder_lanes;
  const int n = sp.rows;
  const int m = n * W;
  ws.resize(n);
  const double gb = sp.bitline_ideal ? 0.0 : sp.g_bitline, gs = sp.sourceline_ideal ? 0.0 : sp.g_sourceline;
  const int tb = sp.bitline_terminal_top ? 0 : n - 1;
  const double vtol = sp.reltol * sp.v_scale;
  const double vb0 = sp.v_bitline_terminal, vs0 = sp.v_sourceline_terminal;
  constexpr double v_limit = 0.1;
  double *b = ws.b.data(), *s = ws.s.data(), *x = ws.x.data(), *ic = ws.i.data();
  double *c0 = ws.c0.data(), *cb = ws.cb.data(), *cs = ws.cs.data(), *x0 = ws.x0.data(), *xb = ws.xb.data(),
         *xs = ws.xs.data();
  double *p0 = ws.p0.data(), *p1 = ws.p1.data(), *p2 = ws.p2.data(), *p3 = ws.p3.data();
  double *r0 = ws.r0.data(), *r1 = ws.r1.data(), *dbv = ws.db.data(), *dsv = ws.ds.data();
  // Unused lanes repeat lane 0 (their results are ignored).
  const unsigned char* t_of[W];
  bool active[W], model[W];
  int n_leak[W] = {};
  double prev_e[W];
  for (int l = 0; l < W; ++l) {
    t_of[l] = tor[l < lanes ? l : 0];
    active[l] = l < lanes;
    prev_e[l] = -1;
    if (l < lanes) ok[l] = false, out[l] = LadderResult{};
  }
  bool used[256] = {};
  int n_types = 0;
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < W; ++l) {
      const int ti = t_of[l][r];
      used[ti] = true, n_types = std::max(n_types, ti + 1);
      n_leak[l] += types[ti].leaking;
    }
  for (int l = 0; l < W; ++l) model[l] = sp.model_leakers && n_leak[l] > 0;
  const BatchPlan plan = plan_batches(types, used, n_types);
  // Cells with their own devices: each branch's parameter and its evaluation input (a batched
  // transistor's gate voltage, a batched ReRAM's scale), per flat cell index.
  const bool varied = cell_params != nullptr;
  ws.dev[0] = ws.dev[1] = ws.par[0] = ws.par[1] = nullptr;
  if (varied) {
    double* dev[2] = {ws.dev1.data(), ws.dev2.data()};
    double* par[2] = {ws.par1.data(), ws.par2.data()};
    for (int r = 0; r < n; ++r)
      for (int l = 0; l < W; ++l) {
        const int f = r * W + l;
        const auto& t = types[t_of[l][r]];
        for (int e = 0; e < 2; ++e) {
          const double p = cell_params[l < lanes ? l : 0][2 * r + e];
          const Branch& br = e == 0 ? t.branches.e1 : t.branches.e2;
          par[e][f] = p;
          dev[e][f] = plan.fet[e] ? br.vg + p : plan.reram[e] ? br.reram.scale_A() * std::exp(-p) : 0.0;
        }
      }
    for (int e = 0; e < 2; ++e) {
      ws.par[e] = par[e];
      if (plan.fet[e] || plan.reram[e]) ws.dev[e] = dev[e];
    }
  }
  // Start (the ideal state), the first iteration's linearization (each type's cached one) and the
  // leak model's constants; the lists of evaluated (conducting) and leaking cells. Cells with their
  // own devices start from their first-order state (the type's state moved by its sensitivities to
  // the cell's parameters) and a leaking one's model from its first-order log current (subthreshold
  // current is exponential in the gate voltage); their first iteration evaluates the devices.
  int n_cond = 0, n_lk = 0;
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < W; ++l) {
      const int f = r * W + l, ti = t_of[l][r];
      const auto& t = types[ti];
      double xs0 = t.ideal.x, is0 = t.ideal.i, i_leak = t.ideal.i;
      if (varied) {
        const double pa = ws.par[0][f], pb = ws.par[1][f];
        xs0 += t.sx[0] * pa + t.sx[1] * pb;
        is0 += t.si[0] * pa + t.si[1] * pb;
        if (t.ideal.i != 0)
          i_leak = t.ideal.i * std::exp((t.si[0] * pa + t.si[1] * pb) / t.ideal.i +
                                        0.5 * (t.lii[0] * pa * pa + t.lii[1] * pb * pb));
      }
      const bool lk = model[l] && t.leaking;
      b[f] = vb0, s[f] = vs0, x[f] = xs0, ic[f] = lk ? i_leak : is0;
      c0[f] = t.c0, cb[f] = t.cb, cs[f] = t.cs, x0[f] = t.x0, xb[f] = t.xb, xs[f] = t.xs;
      ws.m_i0[f] = lk ? i_leak : 0.0, ws.m_lb[f] = lk ? t.lb : 0.0, ws.m_ls[f] = lk ? t.ls : 0.0;
      ws.m_x[f] = lk ? xs0 : 0.0, ws.m_xb[f] = lk ? t.xb : 0.0, ws.m_xs[f] = lk ? t.xs : 0.0;
      if (l >= lanes) continue;
      if (lk) ws.leak_f[n_lk] = f, ws.leak_t[n_lk++] = static_cast<unsigned char>(ti);
      else ws.cond_f[n_cond] = f, ws.cond_t[n_cond++] = static_cast<unsigned char>(ti);
    }
  const bool any_model = n_lk > 0;
  // Evaluated cells of the active lanes (the list is filtered again when a lane leaves).
  int n_ev = 0, ev_lanes = -1;
  int per_lane[W] = {};
  bool at_ideal = !varied;
  int n_active = lanes;
  int first_it = 1, last_it = 0;
  bool lane_leak_failed[W] = {};
  for (int pass = 0; pass < 2; ++pass) {
    for (int it = first_it; it <= sp.max_iterations && n_active > 0; ++it) {
      last_it = it;
      // 1. Condensed linearization of every cell of the active lanes.
      if (!at_ideal) {
        const LaneV act = LaneV{active[0] ? 1.0 : 0.0, active[1] ? 1.0 : 0.0, active[2] ? 1.0 : 0.0, active[3] ? 1.0 : 0.0};
        if (any_model) {  // leaking cells: I = I0 exp(lb db + ls ds), x linear in (db, ds)
          double* e = ws.m_e.data();
  #pragma omp simd
          for (int f = 0; f < m; ++f) e[f] = ws.m_lb[f] * (b[f] - vb0) + ws.m_ls[f] * (s[f] - vs0);
          exp_batch(m, e, ws.m_ex.data());
          for (int f = 0; f < m; f += W) {
            const LaneV db = ld(b + f) - vb0, ds = ld(s + f) - vs0, mxb = ld(&ws.m_xb[f]), mxs = ld(&ws.m_xs[f]);
            const LaneV im = ld(&ws.m_i0[f]) * ld(&ws.m_ex[f]);
            const auto keep = act == 0;  // a lane that left the loop keeps its last linearization
            st(c0 + f, keep ? ld(c0 + f) : im - ld(ic + f));
            st(cb + f, keep ? ld(cb + f) : ld(&ws.m_lb[f]) * im);
            st(cs + f, keep ? ld(cs + f) : ld(&ws.m_ls[f]) * im);
            st(x0 + f, keep ? ld(x0 + f) : ld(&ws.m_x[f]) + mxb * db + mxs * ds - ld(x + f));
            st(xb + f, keep ? ld(xb + f) : mxb);
            st(xs + f, keep ? ld(xs + f) : mxs);
          }
        }
        const int mask = (active[0] ? 1 : 0) | (active[1] ? 2 : 0) | (active[2] ? 4 : 0) | (active[3] ? 8 : 0);
        if (mask != ev_lanes) {
          ev_lanes = mask, n_ev = 0;
          for (int k = 0; k < n_cond; ++k)
            if (active[ws.cond_f[k] % W]) ws.list_f[n_ev] = ws.cond_f[k], ws.list_t[n_ev++] = ws.cond_t[k];
          for (int l = 0; l < W; ++l) per_lane[l] = 0;
          for (int k = 0; k < n_ev; ++k) ++per_lane[ws.list_f[k] % W];
        }
        if (n_ev > 0) {
          eval_list(types, plan, n_ev, ws.list_f.data(), ws.list_t.data(), ws);
          for (int l = 0; l < W; ++l)
            if (l < lanes) out[l].device_evaluations += 2 * per_lane[l];
          // condense (see condense()) for all listed cells; a singular cell poisons its lane's system
          const double *g1 = ws.rg.data(), *gi1 = ws.rgi.data(), *ga1 = ws.rga.data(), *gb1 = ws.rgb.data();
          const double *g2 = g1 + n_ev, *gi2 = gi1 + n_ev, *ga2 = ga1 + n_ev, *gb2 = gb1 + n_ev;
          double *o0 = ws.q_id.data(), *o1 = ws.q_vd.data(), *o2 = ws.q_vg.data(), *o3 = ws.q_vs.data(),
                 *o4 = ws.q_g.data(), *o5 = ws.q_gi.data();
  #pragma omp simd
          for (int k = 0; k < n_ev; ++k) {
            const double m00 = gb1[k], m01 = gi1[k], m10 = ga2[k], m11 = gi2[k];
            const double det = m00 * m11 - m01 * m10;
            const bool good = std::abs(det) > 1e-300 && std::abs(det) < std::numeric_limits<double>::infinity();
            const double inv = good ? 1 / det : 0.0;
            o0[k] = good ? inv * (m11 * -g1[k] - m01 * -g2[k]) : 0.0;    // x0
            o1[k] = good ? inv * (-m10 * -g1[k] + m00 * -g2[k]) : 0.0;   // c0
            o2[k] = good ? inv * (m11 * -ga1[k]) : 0.0;                  // xb
            o3[k] = good ? inv * (-m10 * -ga1[k]) : 1e300;               // cb (poison: the lane fails below)
            o4[k] = good ? inv * (-m01 * -gb2[k]) : 0.0;                 // xs
            o5[k] = good ? inv * (m00 * -gb2[k]) : 0.0;                  // cs
          }
          for (int k = 0; k < n_ev; ++k) {
            const int f = ws.list_f[k];
            x0[f] = o0[k], c0[f] = o1[k], xb[f] = o2[k], cb[f] = o3[k], xs[f] = o4[k], cs[f] = o5[k];
          }
        }
      }
      at_ideal = false;
      // 2. Block-tridiagonal solve, all lanes (inactive lanes too: cheap, results unused). Row r:
      //    KCL residuals F at b_r, s_r; D_r = [Gb_deg + cb, cs; -cb, Gs_deg - cs]; coupling -Gb, -Gs.
      LaneV singular = splat(0);
      {
        const double ib = sp.bitline_ideal ? 0.0 : 1.0, is = sp.sourceline_ideal ? 0.0 : 1.0;
        const LaneV zero = splat(0);
        LaneV q0 = zero, q1 = zero, q2 = zero, q3 = zero, y0p = zero, y1p = zero;  // row r-1: Dinv, rhs
        for (int r = 0; r < n; ++r) {
          const int f = r * W;
          const bool first = r == 0, last = r == n - 1;
          const int up = first ? 0 : W, down = last ? 0 : W;  // neighbour offsets (0: none, term vanishes)
          const double degb = gb * ((first ? 0 : 1) + (last ? 0 : 1) + (r == tb ? 1 : 0));
          const double degs = gs * ((first ? 0 : 1) + (last ? 0 : 1) + (last ? 1 : 0));
          const double tbb = r == tb ? gb : 0.0, tss = last ? gs : 0.0;
          const LaneV bv = ld(b + f), sv = ld(s + f), iv = ld(ic + f), cbv = ld(cb + f), csv = ld(cs + f), c0v = ld(c0 + f);
          const LaneV fb = iv + gb * (bv - ld(b + f - up)) + gb * (bv - ld(b + f + down)) + tbb * (bv - vb0);
          const LaneV fs = -iv + gs * (sv - ld(s + f - up)) + gs * (sv - ld(s + f + down)) + tss * (sv - vs0);
          // An ideal line's node is held at its terminal: its row of the system becomes d = 0.
          LaneV d00 = ib * (degb + cbv) + (1 - ib), d01 = ib * csv;
          LaneV d10 = is * -cbv, d11 = is * (degs - csv) + (1 - is);
          LaneV a0 = ib * (-fb - c0v), a1 = is * (-fs + c0v);
          // eliminate the previous row: D -= E Dinv_{r-1} E, rhs -= E Dinv_{r-1} rp_{r-1} (zero at r = 0)
          d00 -= gb * gb * q0, d01 -= gb * gs * q1, d10 -= gs * gb * q2, d11 -= gs * gs * q3;
          a0 += gb * (q0 * y0p + q1 * y1p), a1 += gs * (q2 * y0p + q3 * y1p);
          const LaneV det = d00 * d11 - d01 * d10;
          const LaneV scale = vabs(d00 * d11) + vabs(d01 * d10);
          singular += vabs(det) > 1e-14 * scale ? 0.0 : 1.0;
          const LaneV inv_det = 1 / det;
          q0 = d11 * inv_det, q1 = -d01 * inv_det, q2 = -d10 * inv_det, q3 = d00 * inv_det, y0p = a0, y1p = a1;
          st(p0 + f, q0), st(p1 + f, q1), st(p2 + f, q2), st(p3 + f, q3), st(r0 + f, a0), st(r1 + f, a1);
        }
      }
      LaneV max_dv = splat(0), bad = splat(0);  // bad: nan unless every cell's step is finite (below)
      {
        LaneV dbn = splat(0), dsn = splat(0);  // row r+1's step (zero below the last row)
        for (int r = n - 1; r >= 0; --r) {
          const int f = r * W;
          const LaneV a0 = ld(r0 + f) + gb * dbn, a1 = ld(r1 + f) + gs * dsn;
          dbn = ld(p0 + f) * a0 + ld(p1 + f) * a1;
          dsn = ld(p2 + f) * a0 + ld(p3 + f) * a1;
          st(dbv + f, dbn), st(dsv + f, dsn);
          max_dv = vmax(vabs(dbn), max_dv), max_dv = vmax(vabs(dsn), max_dv);
        }
      }
      // 3. Damped update per lane (damp = 0 freezes a lane that left the loop).
      double damp[W];
      bool conv[W];
      for (int l = 0; l < W; ++l) {
        if (active[l] && (singular[l] != 0 || !std::isfinite(max_dv[l]))) active[l] = false, --n_active;  // !ok
        damp[l] = !active[l] ? 0.0 : max_dv[l] > v_limit ? v_limit / max_dv[l] : 1.0;
        conv[l] = damp[l] == 1.0;
      }
      const LaneV dmp = LaneV{damp[0], damp[1], damp[2], damp[3]};
      LaneV step_v = splat(0), step_i = splat(0), limited = splat(0);
      for (int f = 0; f < m; f += W) {
        const LaneV db = dmp * ld(dbv + f), ds = dmp * ld(dsv + f);
        LaneV dx = dmp * ld(x0 + f) + ld(xb + f) * db + ld(xs + f) * ds;
        LaneV di = dmp * ld(c0 + f) + ld(cb + f) * db + ld(cs + f) * ds;
        const LaneV adx = vabs(dx);
        const auto lim = adx > v_limit;
        const LaneV k = lim ? v_limit / adx : 1.0;
        limited += lim ? 1.0 : 0.0;
        dx *= k, di *= k;
        st(b + f, ld(b + f) + db), st(s + f, ld(s + f) + ds), st(x + f, ld(x + f) + dx);
        const LaneV inew = ld(ic + f) + di;
        st(ic + f, inew);
        step_v = vmax(vabs(db), step_v), step_v = vmax(vabs(ds), step_v);
        step_i = vmax(vabs(di) / (vabs(inew) + sp.i_scale), step_i);
        bad += (dx + di) * 0.0;  // (a nan or inf node step reaches di through cb, cs)
      }
      for (int l = 0; l < W; ++l) conv[l] = conv[l] && limited[l] == 0;
      // 4. Convergence per lane (the rule of solve_ladder); a converged lane leaves the loop.
      for (int l = 0; l < lanes; ++l) {
        if (!active[l]) continue;
        out[l].iterations = it;
        if (!std::isfinite(step_v[l]) || !std::isfinite(step_i[l] + bad[l])) {
          active[l] = false, --n_active;
          continue;
        }
        const double e = std::max(step_v[l] / vtol, step_i[l] / sp.reltol);
        const double theta = prev_e[l] > 0 ? e / prev_e[l] : 1.0;
        const bool done = conv[l] && (e <= 1 || (theta < 0.5 && theta / (1 - theta) * e <= 1) ||
                                      (theta < 0.1 && 10 * theta * theta * e <= 1));
        prev_e[l] = conv[l] ? e : -1;
        if (done) active[l] = false, --n_active, ok[l] = true;
      }
    }
    // 5. Leaking cells exactly (as solve_ladder): local Newton on (x, I) of each at its converged
    //    (b, s), to a share of the column tolerance; each step of all cells still iterating in one batch.
    double icol[W] = {}, tol_cell[W] = {}, sum_delta[W] = {};
    for (int r = 0; r < n; ++r)
      for (int l = 0; l < W; ++l) icol[l] += ic[r * W + l];
    for (int l = 0; l < W; ++l) tol_cell[l] = 0.1 * sp.reltol * (std::abs(icol[l]) + sp.i_scale) / std::max(n_leak[l], 1);
    std::fill(r0, r0 + m, 0.0), std::fill(r1, r1 + m, 0.0);
    double* i_model = ws.m_e.data();  // each leaking cell's current before its exact solve
    int count = 0;
    for (int k = 0; k < n_lk; ++k) {
      const int f = ws.leak_f[k];
      if (ok[f % W]) ws.list_f[count] = f, ws.list_t[count++] = ws.leak_t[k], i_model[f] = ic[f];
    }
    for (int step = 0; step < 30 && count > 0; ++step) {
      eval_list(types, plan, count, ws.list_f.data(), ws.list_t.data(), ws);
      const double *g1 = ws.rg.data(), *gi1 = ws.rgi.data(), *gb1 = ws.rgb.data();
      const double *g2 = g1 + count, *gi2 = gi1 + count, *ga2 = ws.rga.data() + count;
      const int* fl = ws.list_f.data();
      double *xn = ws.q_id.data(), *in = ws.q_vd.data(), *cv = ws.q_vg.data();  // (batch inputs: free now)
  #pragma omp simd
      for (int k = 0; k < count; ++k) {
        const int f = fl[k];
        const double m00 = gb1[k], m01 = gi1[k], m10 = ga2[k], m11 = gi2[k];
        const double det = m00 * m11 - m01 * m10;
        const bool good = std::abs(det) > 1e-300 && std::abs(det) < std::numeric_limits<double>::infinity();
        const double inv = 1 / det;
        double dx = inv * (m11 * -g1[k] - m01 * -g2[k]), di = inv * (-m10 * -g1[k] + m00 * -g2[k]);
        const double adx = std::abs(dx);
        const double kk = adx > v_limit ? v_limit / adx : 1.0;
        dx *= kk, di *= kk;
        const double xi = x[f] + dx, ii = ic[f] + di;
        const double tol = tol_cell[f % W];
        // Quadratic convergence: what is left after this step is ~ di^2 / |I| (relative error squared).
        const double adi = std::abs(di), left = di * di / (std::abs(ii) + 1e-300);
        xn[k] = xi, in[k] = ii;
        // 1: converged, 0: iterate, -1: singular or non-finite (the lane is re-solved by solve_ladder)
        cv[k] = !(good && std::abs(ii) < std::numeric_limits<double>::infinity()) ? -1.0
                : adi <= tol || (adi <= 0.1 * std::abs(ii) && left <= tol) ? 1.0 : 0.0;
      }
      int next = 0;
      for (int k = 0; k < count; ++k) {
        const int f = fl[k], l = f % W;
        out[l].device_evaluations += 2;
        x[f] = xn[k], ic[f] = in[k];
        if (cv[k] < 0) ok[l] = false;
        else if (cv[k] == 0) ws.list_f[next] = f, ws.list_t[next++] = ws.list_t[k];
      }
      count = next;
    }
    for (int k = 0; k < count; ++k) ok[ws.list_f[k] % W] = false;  // no convergence in 30 steps
    for (int k = 0; k < n_lk; ++k) {
      const int f = ws.leak_f[k], l = f % W;
      if (!ok[l]) continue;
      const double delta = ic[f] - i_model[f];
      sum_delta[l] += std::abs(delta);
      r0[f] = -delta, r1[f] = delta;  // KCL residual after the change: +delta leaves b, -delta leaves s
    }
  bool leak_failed = false;
  for (int l = 0; l < lanes; ++l)
    if (ok[l] && model[l] && !(sum_delta[l] <= 0.1 * std::sqrt(sp.reltol) * (std::abs(icol[l]) + sp.i_scale))) {
      ok[l] = false;
      lane_leak_failed[l] = true;
      leak_failed = true;
    }
  if (!leak_failed || pass > 0) break;
  // A leak correction too large to propagate in one linear step (cells with their own devices leak
  // further from the type's model): re-centre every leaking cell's model on its exact current at the
  // converged voltages and let Newton go on from there, all lanes that got this far (the others
  // converge again in an iteration). The second correction is second order.
  for (int k = 0; k < n_lk; ++k) {
    const int f = ws.leak_f[k], l = f % W;
    if (!ok[l] && !lane_leak_failed[l]) continue;
    const double db = b[f] - vb0, ds = s[f] - vs0;
    ws.m_i0[f] = ic[f] * std::exp(-(ws.m_lb[f] * db + ws.m_ls[f] * ds));
    ws.m_x[f] = x[f] - (ws.m_xb[f] * db + ws.m_xs[f] * ds);
  }
  n_active = 0;
  for (int l = 0; l < lanes; ++l) {
    active[l] = ok[l] || lane_leak_failed[l];
    ok[l] = false, lane_leak_failed[l] = false, prev_e[l] = -1;
    n_active += active[l];
  }
  ev_lanes = -1;  // rebuild the evaluation list
  first_it = last_it + 1;
  }
  // Propagation with each lane's last Jacobian (its inverse pivots are in p0..p3; lanes without leak
  // model have a zero rhs: no change): forward elimination of the rhs, back substitution, update.
  {
    const double ib = sp.bitline_ideal ? 0.0 : 1.0, is = sp.sourceline_ideal ? 0.0 : 1.0;
    LaneV y0p = splat(0), y1p = splat(0);
    for (int f = 0; f < m; f += W) {
      LaneV a0 = ib * ld(r0 + f), a1 = is * ld(r1 + f);
      if (f > 0) {
        const int g = f - W;
        a0 += gb * (ld(p0 + g) * y0p + ld(p1 + g) * y1p);
        a1 += gs * (ld(p2 + g) * y0p + ld(p3 + g) * y1p);
      }
      st(r0 + f, a0), st(r1 + f, a1), y0p = a0, y1p = a1;
    }
    LaneV dbn = splat(0), dsn = splat(0);
    for (int f = m - W; f >= 0; f -= W) {
      const LaneV a0 = ld(r0 + f) + gb * dbn, a1 = ld(r1 + f) + gs * dsn;
      dbn = ld(p0 + f) * a0 + ld(p1 + f) * a1;
      dsn = ld(p2 + f) * a0 + ld(p3 + f) * a1;
      st(dbv + f, dbn), st(dsv + f, dsn);
    }
    LaneV sum = splat(0);
    for (int f = 0; f < m; f += W) {
      const LaneV db = ld(dbv + f), ds = ld(dsv + f);
      st(b + f, ld(b + f) + db), st(s + f, ld(s + f) + ds);
      const LaneV inew = ld(ic + f) + ld(cb + f) * db + ld(cs + f) * ds;
      st(ic + f, inew), st(x + f, ld(x + f) + ld(xb + f) * db + ld(xs + f) * ds);
      sum += inew;
    }
    for (int l = 0; l < lanes; ++l) out[l].current_A = sum[l];
  }
}

}  // namespace xbarkit::circuit
