#include "xbarkit/circuit/ladder.hpp"

#include <algorithm>
#include <cmath>
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
  }
  double c, d;
  reram.eval(va - vb, c, d);
  return {c, d, -d};
}

CellState solve_isolated_cell(const CellBranches& cell, double va, double vb) {
  // F(x) = I1(va, x) - I2(x, vb) is decreasing in x; F(va) <= 0 <= F(vb) when va >= vb (each branch
  // carries no current with equal terminal voltages), so the root is bracketed by [vb, va].
  if (va == vb) return {va, 0.0};
  double lo = std::min(va, vb), hi = std::max(va, vb);
  double x = 0.5 * (lo + hi);
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
void eval_cells(const LadderCellType* types, const unsigned char* type_of_row, int count, const double* i,
                const double* b, const double* x, const double* s, LadderWorkspace& ws) {
  const MvsFet* fet = nullptr;
  int q = 0;
  for (int k = 0; k < count; ++k) {
    const int r = ws.rows[k];
    const auto& c = types[type_of_row[r]].branches;
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
                          LadderWorkspace& ws, int column) {
  const int n = sp.rows;
  ws.resize(n);
  const double gb = sp.bitline_ideal ? 0.0 : sp.g_bitline, gs = sp.sourceline_ideal ? 0.0 : sp.g_sourceline;
  const int tb = sp.bitline_terminal_top ? 0 : n - 1;  // row whose bitline node touches the terminal
  const double vtol = sp.reltol * sp.v_scale;
  const double vb0 = sp.v_bitline_terminal, vs0 = sp.v_sourceline_terminal;
  constexpr double v_limit = 0.1;  // V: largest node update per Newton step (SPICE-like step limiting)

  bool model = sp.model_leakers;
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
  bool at_ideal = true;  // state is the ideal state of every cell
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
      eval_cells(types, type_of_row, count, ws.i.data(), ws.b.data(), ws.x.data(), ws.s.data(), ws);
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
    eval_cells(types, type_of_row, count, ws.i.data(), ws.b.data(), ws.x.data(), ws.s.data(), ws);
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

void LadderLanesWorkspace::resize(int rows) {
  const auto m = static_cast<size_t>(rows) * ladder_lanes;
  for (auto* v : {&b, &s, &x, &i, &c0, &cb, &cs, &x0, &xb, &xs, &db, &ds}) v->resize(m);
  dinv.resize(4 * m);
  rp.resize(2 * m);
  ev_f.resize(m), ev_t.resize(m), res.resize(2 * m);
  for (auto* v : {&q_id, &q_vd, &q_vg, &q_vs, &q_g, &q_gi, &q_ga, &q_gb}) v->resize(2 * m);
  q_slot.resize(2 * m);
}

namespace {

// Branch residuals of cells (flat index ev_f[k], type ev_t[k]) into ws.res[2k], ws.res[2k+1].
void eval_flat(const LadderCellType* types, int count, LadderLanesWorkspace& ws) {
  const MvsFet* fet = nullptr;
  int q = 0;
  for (int k = 0; k < count; ++k) {
    const int f = ws.ev_f[k];
    const auto& c = types[ws.ev_t[k]].branches;
    for (int e = 0; e < 2; ++e) {
      const Branch& br = e == 0 ? c.e1 : c.e2;
      const double va = e == 0 ? ws.b[f] : ws.x[f], vb = e == 0 ? ws.x[f] : ws.s[f];
      if (br.kind == Branch::Kind::fet && (fet == nullptr || fet == br.fet)) {
        fet = br.fet;
        ws.q_id[q] = ws.i[f], ws.q_vd[q] = va, ws.q_vg[q] = br.vg, ws.q_vs[q] = vb, ws.q_slot[q] = 2 * k + e;
        ++q;
      } else {
        ws.res[2 * k + e] = br.residual(ws.i[f], va, vb);
      }
    }
  }
  if (q == 0) return;
  fet->residual_batch(q, ws.q_id.data(), ws.q_vd.data(), ws.q_vg.data(), ws.q_vs.data(), ws.q_g.data(),
                      ws.q_gi.data(), ws.q_ga.data(), ws.q_gb.data());
  for (int j = 0; j < q; ++j) ws.res[ws.q_slot[j]] = {ws.q_g[j], ws.q_gi[j], ws.q_ga[j], ws.q_gb[j]};
}

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void solve_ladder_lanes(const LadderSpec& sp, const LadderCellType* types, const unsigned char* const* tor, int lanes,
                        LadderLanesWorkspace& ws, LadderResult* out, bool* ok) {
  constexpr int W = ladder_lanes;
  const int n = sp.rows;
  ws.resize(n);
  const double gb = sp.bitline_ideal ? 0.0 : sp.g_bitline, gs = sp.sourceline_ideal ? 0.0 : sp.g_sourceline;
  const int tb = sp.bitline_terminal_top ? 0 : n - 1;
  const double vtol = sp.reltol * sp.v_scale;
  const double vb0 = sp.v_bitline_terminal, vs0 = sp.v_sourceline_terminal;
  constexpr double v_limit = 0.1;
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
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < W; ++l) {
      const auto& t = types[t_of[l][r]];
      const int f = r * W + l;
      ws.b[f] = vb0, ws.s[f] = vs0, ws.x[f] = t.ideal.x, ws.i[f] = t.ideal.i;
      n_leak[l] += t.leaking;
    }
  for (int l = 0; l < W; ++l) model[l] = sp.model_leakers && n_leak[l] > 0;
  bool at_ideal = true;
  int n_active = lanes;
  for (int it = 1; it <= sp.max_iterations && n_active > 0; ++it) {
    // 1. Condensed linearization of every cell of the active lanes.
    int count = 0, n_model = 0;
    for (int r = 0; r < n; ++r)
      for (int l = 0; l < W; ++l) {
        if (!active[l] && !at_ideal) continue;  // (at the ideal state every lane is set, unused ones too)
        const int f = r * W + l, ti = t_of[l][r];
        const auto& t = types[ti];
        if (at_ideal) {
          ws.c0[f] = t.c0, ws.cb[f] = t.cb, ws.cs[f] = t.cs, ws.x0[f] = t.x0, ws.xb[f] = t.xb, ws.xs[f] = t.xs;
        } else if (model[l] && t.leaking) {
          ws.q_vd[n_model] = t.lb * (ws.b[f] - vb0) + t.ls * (ws.s[f] - vs0);
          ws.q_slot[n_model++] = f;
        } else {
          ws.ev_f[count] = f, ws.ev_t[count++] = ti;
        }
      }
    at_ideal = false;
    if (n_model > 0) {
      exp_batch(n_model, ws.q_vd.data(), ws.q_vs.data());
      for (int k = 0; k < n_model; ++k) {
        const int f = ws.q_slot[k];
        const auto& t = types[t_of[f % W][f / W]];
        const double db = ws.b[f] - vb0, ds = ws.s[f] - vs0, im = t.ideal.i * ws.q_vs[k];
        ws.c0[f] = im - ws.i[f], ws.cb[f] = t.lb * im, ws.cs[f] = t.ls * im;
        ws.x0[f] = t.ideal.x + t.xb * db + t.xs * ds - ws.x[f], ws.xb[f] = t.xb, ws.xs[f] = t.xs;
      }
    }
    if (count > 0) {
      eval_flat(types, count, ws);
      for (int k = 0; k < count; ++k) {
        const int f = ws.ev_f[k];
        Condensed c;
        if (!condense(ws.res[2 * k], ws.res[2 * k + 1], c)) c = {0, 1e300, 0, 0, 0, 0};  // poison: lane fails below
        ws.c0[f] = c.c0, ws.cb[f] = c.cb, ws.cs[f] = c.cs, ws.x0[f] = c.x0, ws.xb[f] = c.xb, ws.xs[f] = c.xs;
        out[f % W].device_evaluations += 2;
      }
    }
    // 2. Block-tridiagonal solve, all lanes (inactive lanes too: cheap, results unused). The lane
    //    loops are branch-free so that they vectorize.
    double singular[W] = {};
    auto forward_row = [&](int r, auto first_tag) __attribute__((always_inline)) {
      constexpr bool first = decltype(first_tag)::value;
      const bool last = r == n - 1;
      const int up = first ? 0 : W, down = last ? 0 : W;  // neighbour offsets (0: none, term vanishes)
      const double degb = gb * ((first ? 0 : 1) + (last ? 0 : 1) + (r == tb ? 1 : 0));
      const double degs = gs * ((first ? 0 : 1) + (last ? 0 : 1) + (last ? 1 : 0));
      const double tbb = r == tb ? gb : 0.0, tss = last ? gs : 0.0;
      const double ib = sp.bitline_ideal ? 0.0 : 1.0, is = sp.sourceline_ideal ? 0.0 : 1.0;
#pragma omp simd
      for (int l = 0; l < W; ++l) {
        const int f = r * W + l;
        const double fb = ws.i[f] + gb * (ws.b[f] - ws.b[f - up]) + gb * (ws.b[f] - ws.b[f + down]) + tbb * (ws.b[f] - vb0);
        const double fs = -ws.i[f] + gs * (ws.s[f] - ws.s[f - up]) + gs * (ws.s[f] - ws.s[f + down]) + tss * (ws.s[f] - vs0);
        // An ideal line's node is held at its terminal: its row of the system becomes d = 0.
        double d00 = ib * (degb + ws.cb[f]) + (1 - ib), d01 = ib * ws.cs[f];
        double d10 = is * -ws.cb[f], d11 = is * (degs - ws.cs[f]) + (1 - is);
        double r0 = ib * (-fb - ws.c0[f]), r1 = is * (-fs + ws.c0[f]);
        if constexpr (!first) {
          const double* p = &ws.dinv[4 * (f - W)];
          d00 -= gb * gb * p[0], d01 -= gb * gs * p[1], d10 -= gs * gb * p[2], d11 -= gs * gs * p[3];
          const double y0 = p[0] * ws.rp[2 * (f - W)] + p[1] * ws.rp[2 * (f - W) + 1];
          const double y1 = p[2] * ws.rp[2 * (f - W)] + p[3] * ws.rp[2 * (f - W) + 1];
          r0 += gb * y0, r1 += gs * y1;
        }
        const double det = d00 * d11 - d01 * d10;
        const double scale = std::abs(d00 * d11) + std::abs(d01 * d10);
        singular[l] += std::abs(det) > 1e-14 * scale ? 0.0 : 1.0;
        const double inv_det = 1 / det;
        double* p = &ws.dinv[4 * f];
        p[0] = d11 * inv_det, p[1] = -d01 * inv_det, p[2] = -d10 * inv_det, p[3] = d00 * inv_det;
        ws.rp[2 * f] = r0, ws.rp[2 * f + 1] = r1;
      }
    };
    forward_row(0, std::true_type{});
    for (int r = 1; r < n; ++r) forward_row(r, std::false_type{});
    for (int r = n - 1; r >= 0; --r) {
      const double has_next = r < n - 1 ? 1.0 : 0.0;
      const int down = r < n - 1 ? W : 0;
#pragma omp simd
      for (int l = 0; l < W; ++l) {
        const int f = r * W + l;
        const double r0 = ws.rp[2 * f] + has_next * gb * ws.db[f + down];
        const double r1 = ws.rp[2 * f + 1] + has_next * gs * ws.ds[f + down];
        const double* p = &ws.dinv[4 * f];
        ws.db[f] = p[0] * r0 + p[1] * r1;
        ws.ds[f] = p[2] * r0 + p[3] * r1;
      }
    }
    // 3. Damped update per lane (damp = 0 freezes a lane that left the loop).
    double max_dv[W] = {}, step_v[W] = {}, step_i[W] = {}, damp[W], limited[W] = {};
    for (int r = 0; r < n; ++r)
#pragma omp simd
      for (int l = 0; l < W; ++l) {
        const double a = std::abs(ws.db[r * W + l]), c = std::abs(ws.ds[r * W + l]);
        const double m = a > c ? a : c;
        max_dv[l] = m > max_dv[l] ? m : max_dv[l];
      }
    bool conv[W];
    for (int l = 0; l < W; ++l) {
      if (active[l] && (singular[l] != 0 || !std::isfinite(max_dv[l]))) active[l] = false, --n_active;  // !ok
      damp[l] = !active[l] ? 0.0 : max_dv[l] > v_limit ? v_limit / max_dv[l] : 1.0;
      conv[l] = damp[l] == 1.0;
    }
    for (int r = 0; r < n; ++r)
#pragma omp simd
      for (int l = 0; l < W; ++l) {
        const int f = r * W + l;
        const double db = damp[l] * ws.db[f], ds = damp[l] * ws.ds[f];
        double dx = damp[l] * ws.x0[f] + ws.xb[f] * db + ws.xs[f] * ds;
        double di = damp[l] * ws.c0[f] + ws.cb[f] * db + ws.cs[f] * ds;
        const double adx = std::abs(dx);
        const double k = v_limit / (adx > v_limit ? adx : v_limit);  // (branch-free: vectorizes)
        limited[l] += adx > v_limit ? 1.0 : 0.0;
        dx *= k, di *= k;
        ws.b[f] += db, ws.s[f] += ds, ws.x[f] += dx, ws.i[f] += di;
        const double sv = std::abs(db) > std::abs(ds) ? std::abs(db) : std::abs(ds);
        const double si = std::abs(di) / (std::abs(ws.i[f]) + sp.i_scale);
        step_v[l] = sv > step_v[l] ? sv : step_v[l];
        step_i[l] = si > step_i[l] ? si : step_i[l];
      }
    for (int l = 0; l < W; ++l) conv[l] = conv[l] && limited[l] == 0;
    // 4. Convergence per lane (the rule of solve_ladder); a converged lane leaves the loop.
    for (int l = 0; l < lanes; ++l) {
      if (!active[l]) continue;
      out[l].iterations = it;
      if (!std::isfinite(step_v[l]) || !std::isfinite(step_i[l])) {
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
  // 5. Leaking cells exactly (as solve_ladder), one batch for the first local step of all lanes.
  double icol[W] = {}, tol_cell[W] = {}, sum_delta[W] = {};
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < W; ++l) icol[l] += ws.i[r * W + l];
  for (int l = 0; l < W; ++l) tol_cell[l] = 0.1 * sp.reltol * (std::abs(icol[l]) + sp.i_scale) / std::max(n_leak[l], 1);
  int count = 0;
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < W; ++l) {
      const int f = r * W + l;
      ws.rp[2 * f] = ws.rp[2 * f + 1] = 0;
      if (l < lanes && ok[l] && model[l] && types[t_of[l][r]].leaking) ws.ev_f[count] = f, ws.ev_t[count++] = t_of[l][r];
    }
  if (count > 0) eval_flat(types, count, ws);
  for (int k = 0; k < count; ++k) {
    const int f = ws.ev_f[k], l = f % W;
    if (!ok[l]) continue;
    const auto& t = types[ws.ev_t[k]];
    double x = ws.x[f], i = ws.i[f];
    BranchResidual r1 = ws.res[2 * k], r2 = ws.res[2 * k + 1];
    out[l].device_evaluations += 2;
    bool conv = false;
    for (int step = 0; step < 30; ++step) {
      if (step > 0) {
        r1 = t.branches.e1.residual(i, ws.b[f], x);
        r2 = t.branches.e2.residual(i, x, ws.s[f]);
        out[l].device_evaluations += 2;
      }
      Condensed c;
      if (!condense(r1, r2, c)) break;
      double dx = c.x0, di = c.c0;
      if (std::abs(dx) > v_limit) di *= v_limit / std::abs(dx), dx = std::copysign(v_limit, dx);
      x += dx, i += di;
      const double left = di * di / (std::abs(i) + 1e-300);
      if (std::abs(di) <= tol_cell[l] || (std::abs(di) <= 0.1 * std::abs(i) && left <= tol_cell[l])) {
        conv = true;
        break;
      }
    }
    if (!conv || !std::isfinite(i)) {
      ok[l] = false;
      continue;
    }
    const double delta = i - ws.i[f];
    sum_delta[l] += std::abs(delta);
    ws.x[f] = x, ws.i[f] = i;
    ws.rp[2 * f] = -delta, ws.rp[2 * f + 1] = delta;
  }
  for (int l = 0; l < lanes; ++l)
    if (ok[l] && model[l] && !(sum_delta[l] <= 0.1 * std::sqrt(sp.reltol) * (std::abs(icol[l]) + sp.i_scale)))
      ok[l] = false;
  // Propagation with each lane's last Jacobian (lanes without leak model have rp = 0: no change).
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < W; ++l) {
      const int f = r * W + l;
      if (sp.bitline_ideal) ws.rp[2 * f] = 0;
      if (sp.sourceline_ideal) ws.rp[2 * f + 1] = 0;
      if (r > 0) {
        const double* p = &ws.dinv[4 * (f - W)];
        ws.rp[2 * f] += gb * (p[0] * ws.rp[2 * (f - W)] + p[1] * ws.rp[2 * (f - W) + 1]);
        ws.rp[2 * f + 1] += gs * (p[2] * ws.rp[2 * (f - W)] + p[3] * ws.rp[2 * (f - W) + 1]);
      }
    }
  for (int r = n - 1; r >= 0; --r)
    for (int l = 0; l < W; ++l) {
      const int f = r * W + l;
      double r0 = ws.rp[2 * f], r1 = ws.rp[2 * f + 1];
      if (r < n - 1) r0 += gb * ws.db[f + W], r1 += gs * ws.ds[f + W];
      const double* p = &ws.dinv[4 * f];
      ws.db[f] = p[0] * r0 + p[1] * r1;
      ws.ds[f] = p[2] * r0 + p[3] * r1;
    }
  for (int r = 0; r < n; ++r)
    for (int l = 0; l < lanes; ++l) {
      const int f = r * W + l;
      const double db = ws.db[f], ds = ws.ds[f];
      ws.b[f] += db, ws.s[f] += ds;
      ws.i[f] += ws.cb[f] * db + ws.cs[f] * ds;
      ws.x[f] += ws.xb[f] * db + ws.xs[f] * ds;
      out[l].current_A += ws.i[f];
    }
}

}  // namespace xbarkit::circuit
