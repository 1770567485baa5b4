#include "xbarkit/circuit/passive.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <Eigen/OrderingMethods>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <Eigen/SparseLU>
#include <fmt/format.h>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/core/error.hpp"

namespace xbarkit::circuit {

namespace {

using SpMat = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A circuit node: an unknown (idx >= 0), a row driver (drive >= 0) or ground.
struct Term {
  int idx = -1;
  int drive = -1;
};

struct Topology {
  int rows = 0, cols = 0;
  bool row_ideal = false, col_ideal = false;
  double g_wl = 0, g_bl = 0;
  std::vector<int> rnode, cnode;  // per cell (i*cols + j): unknown index, -1 if merged into a fixed node
  std::vector<std::pair<int, int>> where;  // unknown -> (cell, 0 = row line / 1 = column line)
  int n = 0;

  Term row_term(int i, int j) const {
    if (row_ideal) return {-1, i};
    return {rnode[static_cast<size_t>(i) * cols + j], -1};
  }
  Term col_term(int i, int j) const {
    if (col_ideal) return {-1, -1};
    return {cnode[static_cast<size_t>(i) * cols + j], -1};
  }
  std::string describe(int u) const {
    const auto [cell, kind] = where[static_cast<size_t>(u)];
    return fmt::format("{} node of cell (row {}, col {})", kind == 0 ? "row-line" : "column-line", cell / cols,
                       cell % cols);
  }
};

// Nested dissection on the cell grid (see passive.hpp): appends (cell, kind) in elimination order.
void dissect(int i0, int i1, int j0, int j1, int cols, std::vector<std::pair<int, int>>& order) {
  const int h = i1 - i0, w = j1 - j0;
  if (h <= 0 || w <= 0) return;
  if (h * w <= 4) {
    for (int i = i0; i < i1; ++i)
      for (int j = j0; j < j1; ++j) order.push_back({i * cols + j, 0}), order.push_back({i * cols + j, 1});
    return;
  }
  if (w >= h) {  // cut along column m: separator = row-line nodes of column m
    const int m = (j0 + j1) / 2;
    dissect(i0, i1, j0, m, cols, order);
    dissect(i0, i1, m + 1, j1, cols, order);
    for (int i = i0; i < i1; ++i) order.push_back({i * cols + m, 1});
    for (int i = i0; i < i1; ++i) order.push_back({i * cols + m, 0});
  } else {  // cut along row m: separator = column-line nodes of row m
    const int m = (i0 + i1) / 2;
    dissect(i0, m, j0, j1, cols, order);
    dissect(m + 1, i1, j0, j1, cols, order);
    for (int j = j0; j < j1; ++j) order.push_back({m * cols + j, 0});
    for (int j = j0; j < j1; ++j) order.push_back({m * cols + j, 1});
  }
}

Topology make_topology(const netlist::Crossbar& x, bool nested) {
  Topology t;
  t.rows = x.rows, t.cols = x.cols;
  t.row_ideal = x.parasitics.r_wordline_ohm == 0;
  t.col_ideal = x.parasitics.r_bitline_ohm == 0;
  t.g_wl = t.row_ideal ? 0 : 1 / x.parasitics.r_wordline_ohm;
  t.g_bl = t.col_ideal ? 0 : 1 / x.parasitics.r_bitline_ohm;
  const size_t cells = static_cast<size_t>(x.rows) * x.cols;
  t.rnode.assign(cells, -1), t.cnode.assign(cells, -1);
  std::vector<std::pair<int, int>> order;
  order.reserve(2 * cells);
  if (nested) dissect(0, x.rows, 0, x.cols, x.cols, order);
  else
    for (size_t c = 0; c < cells; ++c) order.push_back({static_cast<int>(c), 0}), order.push_back({static_cast<int>(c), 1});
  for (const auto& [cell, kind] : order) {
    if (kind == 0 && t.row_ideal) continue;
    if (kind == 1 && t.col_ideal) continue;
    (kind == 0 ? t.rnode : t.cnode)[static_cast<size_t>(cell)] = t.n++;
    t.where.push_back({cell, kind});
  }
  return t;
}

// Calls fn(g, a, b) for every wire segment.
template <class Fn>
void for_each_wire(const Topology& t, Fn&& fn) {
  if (!t.row_ideal)
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) fn(t.g_wl, j == 0 ? Term{-1, i} : t.row_term(i, j - 1), t.row_term(i, j));
  if (!t.col_ideal)
    for (int j = 0; j < t.cols; ++j) {
      for (int i = 0; i + 1 < t.rows; ++i) fn(t.g_bl, t.col_term(i, j), t.col_term(i + 1, j));
      fn(t.g_bl, t.col_term(t.rows - 1, j), Term{-1, -1});
    }
}

// Conductance stamps into the nodal matrix (triplets) and the driver coupling B (unknowns x rows).
struct Stamper {
  std::vector<Eigen::Triplet<double>> a, b;
  void stamp(double g, Term p, Term q) {
    if (p.idx >= 0) a.emplace_back(p.idx, p.idx, g);
    if (q.idx >= 0) a.emplace_back(q.idx, q.idx, g);
    if (p.idx >= 0 && q.idx >= 0) a.emplace_back(p.idx, q.idx, -g), a.emplace_back(q.idx, p.idx, -g);
    if (p.idx >= 0 && q.drive >= 0) b.emplace_back(p.idx, q.drive, g);
    if (q.idx >= 0 && p.drive >= 0) b.emplace_back(q.idx, p.drive, g);
  }
};

// Every unknown must reach a fixed node through nonzero conductances; otherwise the nodal matrix is
// singular (a floating node). `cell_g(i, j)` is the conductance of cell (i, j).
template <class CellG>
void check_connected(const Topology& t, CellG&& cell_g) {
  std::vector<int> parent(static_cast<size_t>(t.n) + 1);  // index n = all fixed nodes
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int u) {
    while (parent[u] != u) u = parent[u] = parent[parent[u]];
    return u;
  };
  auto join = [&](double g, Term p, Term q) {
    if (!(g > 0)) return;
    const int a = p.idx >= 0 ? p.idx : t.n, b = q.idx >= 0 ? q.idx : t.n;
    parent[find(a)] = find(b);
  };
  for_each_wire(t, join);
  for (int i = 0; i < t.rows; ++i)
    for (int j = 0; j < t.cols; ++j) join(cell_g(i, j), t.row_term(i, j), t.col_term(i, j));
  const int ground = find(t.n);
  for (int u = 0; u < t.n; ++u)
    if (find(u) != ground)
      throw SolverError(fmt::format(
          "native solver: singular network: the {} is floating (no path of nonzero conductance to a driver or "
          "sense node); check for zero-conductance cells and infinite wire resistances",
          t.describe(u)));
}

}  // namespace

struct PassiveNetwork::Impl {
  Topology topo;
  PassiveOrdering ordering;
  double v_read = 0;
  SpMat a, b, cmat, dmat;  // nodal matrix, driver coupling, current functionals (cols x n, cols x rows)
  Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::NaturalOrdering<int>> llt_nd;
  Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::AMDOrdering<int>> llt_amd;
  Eigen::SparseLU<SpMat, Eigen::COLAMDOrdering<int>> lu;
  double analyze_s = 0, factorize_s = 0;

  Eigen::MatrixXd solve_nodes(const Eigen::MatrixXd& rhs) const {
    switch (ordering) {
      case PassiveOrdering::nested_dissection: return llt_nd.solve(rhs);
      case PassiveOrdering::amd: return llt_amd.solve(rhs);
      case PassiveOrdering::colamd_lu: return lu.solve(rhs);
    }
    return {};
  }
};

PassiveNetwork::PassiveNetwork(const netlist::Crossbar& x, PassiveOrdering ordering) : impl_(std::make_unique<Impl>()) {
  x.validate();
  if (x.cell != netlist::CellKind::passive || x.passive_cell != netlist::PassiveCell::resistor)
    throw InputError("crossbar", "array.cell", "PassiveNetwork needs a passive array with resistor cells");
  auto& m = *impl_;
  m.ordering = ordering;
  m.v_read = x.v_read_V;
  m.topo = make_topology(x, ordering == PassiveOrdering::nested_dissection);
  const auto& t = m.topo;
  auto cell_g = [&](int i, int j) { return 1 / (x.weight(i, j) ? x.r_lrs_ohm : x.r_hrs_ohm); };
  check_connected(t, cell_g);

  Stamper st;
  for_each_wire(t, [&](double g, Term p, Term q) { st.stamp(g, p, q); });
  std::vector<Eigen::Triplet<double>> c, d;
  for (int i = 0; i < t.rows; ++i)
    for (int j = 0; j < t.cols; ++j) {
      const double g = cell_g(i, j);
      const Term r = t.row_term(i, j), cl = t.col_term(i, j);
      st.stamp(g, r, cl);
      if (t.col_ideal) {  // column line merged into the sense node: every cell current enters it
        if (r.idx >= 0) c.emplace_back(j, r.idx, g);
        else d.emplace_back(j, i, g);
      }
    }
  if (!t.col_ideal)
    for (int j = 0; j < t.cols; ++j) c.emplace_back(j, t.col_term(t.rows - 1, j).idx, t.g_bl);
  m.a.resize(t.n, t.n), m.b.resize(t.n, t.rows), m.cmat.resize(t.cols, t.n), m.dmat.resize(t.cols, t.rows);
  m.a.setFromTriplets(st.a.begin(), st.a.end());
  m.b.setFromTriplets(st.b.begin(), st.b.end());
  m.cmat.setFromTriplets(c.begin(), c.end());
  m.dmat.setFromTriplets(d.begin(), d.end());
  if (t.n == 0) return;

  auto t0 = Clock::now();
  Eigen::ComputationInfo info = Eigen::Success;
  switch (ordering) {
    case PassiveOrdering::nested_dissection:
      m.llt_nd.analyzePattern(m.a), m.analyze_s = seconds_since(t0), t0 = Clock::now();
      m.llt_nd.factorize(m.a), info = m.llt_nd.info();
      break;
    case PassiveOrdering::amd:
      m.llt_amd.analyzePattern(m.a), m.analyze_s = seconds_since(t0), t0 = Clock::now();
      m.llt_amd.factorize(m.a), info = m.llt_amd.info();
      break;
    case PassiveOrdering::colamd_lu:
      m.a.makeCompressed();
      m.lu.analyzePattern(m.a), m.analyze_s = seconds_since(t0), t0 = Clock::now();
      m.lu.factorize(m.a), info = m.lu.info();
      break;
  }
  m.factorize_s = seconds_since(t0);
  if (info != Eigen::Success)
    throw SolverError("native solver: the passive array's nodal matrix is singular or not positive definite "
                      "(check for zero or negative cell and wire resistances)");
}

PassiveNetwork::~PassiveNetwork() = default;
PassiveNetwork::PassiveNetwork(PassiveNetwork&&) noexcept = default;
PassiveNetwork& PassiveNetwork::operator=(PassiveNetwork&&) noexcept = default;

int PassiveNetwork::unknowns() const { return impl_->topo.n; }
double PassiveNetwork::analyze_s() const { return impl_->analyze_s; }
double PassiveNetwork::factorize_s() const { return impl_->factorize_s; }
long PassiveNetwork::factor_nonzeros() const {
  const auto& m = *impl_;
  switch (m.ordering) {
    case PassiveOrdering::nested_dissection: return m.topo.n ? m.llt_nd.matrixL().nestedExpression().nonZeros() : 0;
    case PassiveOrdering::amd: return m.topo.n ? m.llt_amd.matrixL().nestedExpression().nonZeros() : 0;
    case PassiveOrdering::colamd_lu: return m.topo.n ? m.lu.nnzL() + m.lu.nnzU() : 0;
  }
  return 0;
}

Eigen::MatrixXd PassiveNetwork::column_currents(const Eigen::MatrixXd& drive) const {
  const auto& m = *impl_;
  if (drive.rows() != m.topo.rows)
    throw InputError("", "drive", fmt::format("has {} rows, the array has {}", drive.rows(), m.topo.rows));
  Eigen::MatrixXd out = m.dmat * drive;
  if (m.topo.n > 0) {
    const Eigen::MatrixXd rhs = m.b * drive;
    out += m.cmat * m.solve_nodes(rhs);
  }
  return out;
}

std::vector<double> PassiveNetwork::column_currents(const std::vector<uint8_t>& inputs) const {
  Eigen::MatrixXd d(impl_->topo.rows, 1);
  for (int i = 0; i < impl_->topo.rows; ++i) d(i, 0) = inputs.at(static_cast<size_t>(i)) ? impl_->v_read : 0.0;
  const Eigen::MatrixXd c = column_currents(d);
  return std::vector<double>(c.data(), c.data() + c.size());
}

CrossbarSolution PassiveNetwork::solve(const std::vector<uint8_t>& inputs, bool node_voltages) const {
  const auto& m = *impl_;
  const auto& t = m.topo;
  Eigen::VectorXd d(t.rows);
  for (int i = 0; i < t.rows; ++i) d(i) = inputs.at(static_cast<size_t>(i)) ? m.v_read : 0.0;
  Eigen::VectorXd v;
  if (t.n > 0) v = m.solve_nodes(Eigen::MatrixXd(m.b * d)).col(0);
  const Eigen::VectorXd cur = m.dmat * d + (t.n > 0 ? Eigen::VectorXd(m.cmat * v) : Eigen::VectorXd::Zero(t.cols));
  CrossbarSolution s;
  s.rows = t.rows, s.cols = t.cols;
  s.column_current_A.assign(cur.data(), cur.data() + cur.size());
  if (node_voltages) {
    const size_t nn = static_cast<size_t>(t.rows) * t.cols;
    s.bitline_V.resize(nn), s.wordline_V.resize(nn);
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) {
        const size_t k = static_cast<size_t>(i) * t.cols + j;
        const Term r = t.row_term(i, j), c = t.col_term(i, j);
        s.wordline_V[k] = r.idx >= 0 ? v(r.idx) : d(i);
        s.bitline_V[k] = c.idx >= 0 ? v(c.idx) : 0.0;
      }
  }
  return s;
}

namespace {

// Passive array of ReRAM cells: Newton on the nodal equations, each step a sparse Cholesky solve
// (the Jacobian is symmetric positive definite: wires plus cell conductances dI/dV = cosh > 0), with
// the symbolic analysis done once.
CrossbarSolution solve_passive_reram(const netlist::Crossbar& x, const PassiveOptions& opt, bool node_voltages) {
  const Topology t = make_topology(x, true);
  std::vector<Reram> cells;
  cells.reserve(static_cast<size_t>(t.rows) * t.cols);
  for (int i = 0; i < t.rows; ++i)
    for (int j = 0; j < t.cols; ++j) cells.emplace_back(x.reram, x.weight(i, j) ? x.reram.gap_lrs_m : x.reram.gap_hrs_m);
  check_connected(t, [&](int i, int j) {
    double c, g;
    cells[static_cast<size_t>(i) * t.cols + j].eval(0.0, c, g);
    return g;
  });
  Eigen::VectorXd drive(t.rows);
  for (int i = 0; i < t.rows; ++i) drive(i) = x.input(i) ? x.v_read_V : 0.0;
  auto value = [&](Term p, const Eigen::VectorXd& v) { return p.idx >= 0 ? v(p.idx) : (p.drive >= 0 ? drive(p.drive) : 0.0); };

  // Start from the ideal-wire voltages: row lines at their drivers, column lines at 0 V.
  Eigen::VectorXd v = Eigen::VectorXd::Zero(t.n);
  for (int i = 0; i < t.rows; ++i)
    for (int j = 0; j < t.cols; ++j)
      if (const Term r = t.row_term(i, j); r.idx >= 0) v(r.idx) = drive(i);

  Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::NaturalOrdering<int>> llt;
  SpMat jac(t.n, t.n);
  const double vtol = opt.reltol * std::max(x.v_read_V, 1e-3);
  int it = 0;
  double last_dv = 0;
  bool converged = t.n == 0;
  for (it = 1; !converged && it <= opt.max_newton_iterations; ++it) {
    Stamper st;
    Eigen::VectorXd f = Eigen::VectorXd::Zero(t.n);  // currents leaving each unknown node
    auto add_current = [&](Term p, Term q, double i) {
      if (p.idx >= 0) f(p.idx) += i;
      if (q.idx >= 0) f(q.idx) -= i;
    };
    for_each_wire(t, [&](double g, Term p, Term q) {
      st.stamp(g, p, q);
      add_current(p, q, g * (value(p, v) - value(q, v)));
    });
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) {
        const Term r = t.row_term(i, j), c = t.col_term(i, j);
        double cur, g;
        cells[static_cast<size_t>(i) * t.cols + j].eval(value(r, v) - value(c, v), cur, g);
        st.stamp(g, r, c);
        add_current(r, c, cur);
      }
    jac.setFromTriplets(st.a.begin(), st.a.end());
    if (it == 1) llt.analyzePattern(jac);
    llt.factorize(jac);
    if (llt.info() != Eigen::Success)
      throw SolverError(fmt::format("native solver: singular Jacobian in the passive ReRAM array at Newton iteration {}", it));
    Eigen::VectorXd dv = llt.solve(Eigen::VectorXd(-f));
    const double max_dv = dv.cwiseAbs().maxCoeff();
    if (!std::isfinite(max_dv))
      throw SolverError(fmt::format("native solver: non-finite Newton update in the passive array at iteration {}", it));
    const double damp = max_dv > 0.1 ? 0.1 / max_dv : 1.0;
    v += damp * dv;
    last_dv = max_dv;
    converged = damp == 1.0 && max_dv <= vtol;
  }
  if (!converged)
    throw SolverError(fmt::format(
        "native solver: Newton did not converge on the passive ReRAM array after {} iterations (last update {:.3g} V, "
        "tolerance {:.3g} V)", opt.max_newton_iterations, last_dv, vtol));

  CrossbarSolution s;
  s.rows = t.rows, s.cols = t.cols;
  s.newton_iterations = it - 1;
  s.column_current_A.assign(static_cast<size_t>(t.cols), 0.0);
  for (int j = 0; j < t.cols; ++j) {
    if (!t.col_ideal) {
      s.column_current_A[j] = t.g_bl * value(t.col_term(t.rows - 1, j), v);
    } else {
      double sum = 0, cur, g;
      for (int i = 0; i < t.rows; ++i) {
        cells[static_cast<size_t>(i) * t.cols + j].eval(value(t.row_term(i, j), v), cur, g);
        sum += cur;
      }
      s.column_current_A[j] = sum;
    }
  }
  if (node_voltages) {
    const size_t nn = static_cast<size_t>(t.rows) * t.cols;
    s.bitline_V.resize(nn), s.wordline_V.resize(nn);
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) {
        const size_t k = static_cast<size_t>(i) * t.cols + j;
        s.wordline_V[k] = value(t.row_term(i, j), v);
        s.bitline_V[k] = value(t.col_term(i, j), v);
      }
  }
  return s;
}

}  // namespace

CrossbarSolution solve_passive(const netlist::Crossbar& x, const PassiveOptions& opt, bool node_voltages) {
  if (x.passive_cell == netlist::PassiveCell::reram) return solve_passive_reram(x, opt, node_voltages);
  const PassiveNetwork net(x, opt.ordering);
  auto s = net.solve(x.inputs, node_voltages);
  s.newton_iterations = 1;
  return s;
}

}  // namespace xbarkit::circuit
