#include "xbarkit/circuit/ladder.hpp"

#include <algorithm>
#include <cmath>

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
}

LadderResult solve_ladder(const LadderSpec& sp, const std::vector<const CellBranches*>& cells,
                          const std::vector<const CellState*>& init, LadderWorkspace& ws, int column) {
  const int n = sp.rows;
  ws.resize(n);
  const double gb = sp.bitline_ideal ? 0.0 : sp.g_bitline, gs = sp.sourceline_ideal ? 0.0 : sp.g_sourceline;
  const int tb = sp.bitline_terminal_top ? 0 : n - 1;  // row whose bitline node touches the terminal
  const double vtol = sp.reltol * sp.v_scale;
  constexpr double v_limit = 0.1;  // V: largest node update per Newton step (SPICE-like step limiting)

  for (int r = 0; r < n; ++r) {
    ws.b[r] = sp.v_bitline_terminal;
    ws.s[r] = sp.v_sourceline_terminal;
    ws.x[r] = init[r]->x;
    ws.i[r] = init[r]->i;
  }
  double last_dv = 0, last_di = 0, prev_e = -1;
  for (int it = 1; it <= sp.max_iterations; ++it) {
    // 1. Linearize every cell and condense its internal unknowns (dx, dI) onto (db, ds):
    //    [g1_x g1_I; g2_x g2_I] [dx; dI] = -[g1 + g1_a db; g2 + g2_b ds].
    for (int r = 0; r < n; ++r) {
      const auto& c = *cells[r];
      const BranchResidual r1 = c.e1.residual(ws.i[r], ws.b[r], ws.x[r]);
      const BranchResidual r2 = c.e2.residual(ws.i[r], ws.x[r], ws.s[r]);
      const double m00 = r1.g_b, m01 = r1.g_i, m10 = r2.g_a, m11 = r2.g_i;
      const double det = m00 * m11 - m01 * m10;
      if (!(std::abs(det) > 1e-300) || !std::isfinite(det))
        throw SolverError(fmt::format(
            "native solver: singular network in column {}, row {}: the cell's internal node is floating "
            "(both of its branches have zero conductance)", column, r));
      const double inv = 1 / det;
      // M^-1 = inv * [m11 -m01; -m10 m00]
      auto solve = [&](double u0, double u1, double& dx, double& di) {
        dx = inv * (m11 * u0 - m01 * u1);
        di = inv * (-m10 * u0 + m00 * u1);
      };
      solve(-r1.g, -r2.g, ws.x0[r], ws.c0[r]);
      solve(-r1.g_a, 0.0, ws.xb[r], ws.cb[r]);
      solve(0.0, -r2.g_b, ws.xs[r], ws.cs[r]);
    }
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
      if (!(std::abs(det) > 1e-14 * scale) || !std::isfinite(det))
        throw SolverError(fmt::format(
            "native solver: singular network in column {} at row {} (a floating bitline/source-line node: "
            "zero wire conductance and no conducting cell)", column, r));
      double* p = &ws.dinv[4 * r];
      p[0] = d11 / det, p[1] = -d01 / det, p[2] = -d10 / det, p[3] = d00 / det;
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
    for (int r = 0; r < n; ++r) max_dv = std::max({max_dv, std::abs(ws.db[r]), std::abs(ws.ds[r])});
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
      step_v = std::max({step_v, std::abs(db), std::abs(ds)});
      step_i = std::max(step_i, rel_i);
    }
    last_dv = step_v, last_di = step_i;
    if (!std::isfinite(step_v) || !std::isfinite(step_i))
      throw SolverError(fmt::format("native solver: Newton produced a non-finite update in column {} at iteration {}",
                                    column, it));
    // Stop when this update was below tolerance, or when the contraction of successive updates
    // (theta = e_k / e_{k-1}, quadratic convergence makes it small) bounds the error left after it,
    // theta/(1-theta) * e_k, below tolerance (Hairer & Wanner's Newton stopping rule).
    const double e = std::max(step_v / vtol, step_i / sp.reltol);
    const double theta = prev_e > 0 ? e / prev_e : 1.0;
    const bool done = converged && (e <= 1 || (theta < 0.5 && theta / (1 - theta) * e <= 1));
    prev_e = converged ? e : -1;
    if (done) {
      LadderResult out;
      out.iterations = it;
      for (int r = 0; r < n; ++r) out.current_A += ws.i[r];
      return out;
    }
  }
  throw SolverError(fmt::format(
      "native solver: Newton did not converge in column {} after {} iterations (last update: {:.3g} V on a node, "
      "{:.3g} relative on a cell current; tolerance {:.3g} V / {:.3g}); check the device and wire parameters",
      column, sp.max_iterations, last_dv, last_di, vtol, sp.reltol));
}

}  // namespace xbarkit::circuit
