#include "xbarkit/circuit/passive.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <cmath>
#include <numeric>

#include <Eigen/OrderingMethods>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <Eigen/SparseLU>
#include <fmt/format.h>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/circuit/multifrontal.hpp"
#include "xbarkit/core/error.hpp"

namespace xbarkit::circuit {

namespace {
// Every cell of the grid a resistor: the linear (factor once) path.
bool linear_grid(const netlist::Crossbar& x) {
  using K = netlist::BranchSpec::Kind;
  if (x.state.empty())  // mismatch changes device values, never a device's kind
    return x.kind().grid_cell(x, false, nullptr).kind == K::resistor && x.kind().grid_cell(x, true, nullptr).kind == K::resistor;
  for (int i = 0; i < x.rows; ++i)
    for (int j = 0; j < x.cols; ++j)
      if (netlist::grid_cell_at(x, i, j).kind != K::resistor) return false;
  return true;
}

// Per-cell grid elements without a call per cell where the cells store bits (two kinds of cell).
template <class F>
void for_each_grid_cell(const netlist::Crossbar& x, F&& f) {
  if (!x.variation.empty()) {  // every cell its own device
    for (int i = 0; i < x.rows; ++i)
      for (int j = 0; j < x.cols; ++j)
        f(i, j, netlist::apply_variation(netlist::grid_cell_at(x, i, j), x, static_cast<size_t>(i) * x.cols + j, 0));
  } else if (x.state.empty()) {
    const netlist::BranchSpec spec[2] = {x.kind().grid_cell(x, false, nullptr), x.kind().grid_cell(x, true, nullptr)};
    for (int i = 0; i < x.rows; ++i)
      for (int j = 0; j < x.cols; ++j) f(i, j, spec[x.weight(i, j)]);
  } else {
    for (int i = 0; i < x.rows; ++i)
      for (int j = 0; j < x.cols; ++j) f(i, j, netlist::grid_cell_at(x, i, j));
  }
}
}  // namespace

namespace {

using SpMat = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
// Analysis and factorization times are this thread's CPU time: on a shared machine wall time
// measures the other processes too.
struct ThreadCpuClock {
  using time_point = double;
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
};
using Clock = ThreadCpuClock;
double seconds_since(double t0) { return Clock::now() - t0; }

// A circuit node: an unknown (idx >= 0), a row driver (drive >= 0) or ground.
struct Term {
  int idx = -1;
  int drive = -1;
};

struct Topology {
  int rows = 0, cols = 0;
  bool row_ideal = false, col_ideal = false;
  double g_wl = 0, g_bl = 0;
  std::vector<double> f_wl, f_bl;  // per row / column conductance multipliers (wire spread; empty: 1)
  double gw(int i) const { return f_wl.empty() ? g_wl : g_wl * f_wl[static_cast<size_t>(i)]; }
  double gb(int j) const { return f_bl.empty() ? g_bl : g_bl * f_bl[static_cast<size_t>(j)]; }
  std::vector<int> rnode, cnode;  // per cell (i*cols + j): unknown index, -1 if merged into a fixed node
  std::vector<std::pair<int, int>> where;  // unknown -> (cell, 0 = row line / 1 = column line)
  std::vector<int> supernode_start;        // nested dissection's fronts (MultifrontalCholesky)
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

// Nested dissection of the network's nodes (see passive.hpp). A domain is a rectangle of row-line
// nodes `r` and a rectangle of column-line nodes `c` (either may be empty). Cutting along column m
// takes the row-line nodes of column m as the separator; column m's column-line nodes touch only
// the separator and each other, so they join the left part (and are cut further there). Cutting
// along row m is the same with the layers exchanged. Subdomains come first, then the separator: a
// post-order, as MultifrontalCholesky needs. Each separator and each leaf is one supernode.
struct NodeRect {
  int i0 = 0, i1 = 0, j0 = 0, j1 = 0;
  bool empty() const { return i0 >= i1 || j0 >= j1; }
  long area() const { return empty() ? 0 : static_cast<long>(i1 - i0) * (j1 - j0); }
};

struct Dissection {
  int cols = 0;
  long leaf_nodes = 0;
  std::vector<std::pair<int, int>> order;  // (cell, 0 = row line / 1 = column line) in elimination order
  std::vector<int> supernode_start;

  void push(const NodeRect& rect, int kind) {
    for (int i = rect.i0; i < rect.i1; ++i)
      for (int j = rect.j0; j < rect.j1; ++j) order.push_back({i * cols + j, kind});
  }
  void supernode(const NodeRect& r, const NodeRect& c) {  // one front: a leaf domain or a separator
    supernode_start.push_back(static_cast<int>(order.size()));
    push(r, 0), push(c, 1);
  }

  void dissect(const NodeRect& r, const NodeRect& c) {
    const long count = r.area() + c.area();
    if (count == 0) return;
    if (count <= leaf_nodes) return supernode(r, c);
    const int i_lo = std::min(r.empty() ? c.i0 : r.i0, c.empty() ? r.i0 : c.i0);
    const int i_hi = std::max(r.empty() ? c.i1 : r.i1, c.empty() ? r.i1 : c.i1);
    const int j_lo = std::min(r.empty() ? c.j0 : r.j0, c.empty() ? r.j0 : c.j0);
    const int j_hi = std::max(r.empty() ? c.j1 : r.j1, c.empty() ? r.j1 : c.j1);
    // A cut makes progress if it has a nonempty separator, or (with one layer absent, so lines are
    // independent) splits the other layer into two nonempty parts.
    const bool vertical_ok = !r.empty() || c.j1 - c.j0 >= 2;
    const bool horizontal_ok = !c.empty() || r.i1 - r.i0 >= 2;
    const bool vertical = vertical_ok && (j_hi - j_lo >= i_hi - i_lo || !horizontal_ok);
    if (vertical) {
      if (r.empty()) {  // no row lines: the columns are independent chains
        const int m = (c.j0 + c.j1) / 2;
        dissect(r, {c.i0, c.i1, c.j0, m});
        dissect(r, {c.i0, c.i1, m, c.j1});
        return;
      }
      const int m = (r.j0 + r.j1) / 2;
      dissect({r.i0, r.i1, r.j0, m}, {c.i0, c.i1, c.j0, std::min(c.j1, m + 1)});
      dissect({r.i0, r.i1, m + 1, r.j1}, {c.i0, c.i1, std::max(c.j0, m + 1), c.j1});
      supernode({r.i0, r.i1, m, m + 1}, {});
    } else {
      if (c.empty()) {  // no column lines: the rows are independent chains
        const int m = (r.i0 + r.i1) / 2;
        dissect({r.i0, m, r.j0, r.j1}, c);
        dissect({m, r.i1, r.j0, r.j1}, c);
        return;
      }
      const int m = (c.i0 + c.i1) / 2;
      dissect({r.i0, std::min(r.i1, m + 1), r.j0, r.j1}, {c.i0, m, c.j0, c.j1});
      dissect({std::max(r.i0, m + 1), r.i1, r.j0, r.j1}, {m + 1, c.i1, c.j0, c.j1});
      supernode({}, {m, m + 1, c.j0, c.j1});
    }
  }
};

// Leaf domains of up to this many nodes are one dense front: smaller leaves mean more, tinier
// fronts (per-front overhead), larger ones dense work on zeros. Measured at 64..512 (bench).
constexpr long kLeafNodes = 16;

Topology make_topology(const netlist::Crossbar& x, bool nested) {
  Topology t;
  t.rows = x.rows, t.cols = x.cols;
  t.row_ideal = x.parasitics.r_wordline_ohm == 0;
  t.col_ideal = x.parasitics.r_bitline_ohm == 0;
  t.g_wl = t.row_ideal ? 0 : 1 / x.parasitics.r_wordline_ohm;
  t.g_bl = t.col_ideal ? 0 : 1 / x.parasitics.r_bitline_ohm;
  if (x.variation.wires()) {
    for (int i = 0; i < x.rows; ++i) t.f_wl.push_back(1 / x.variation.wordline_factor(i));
    for (int j = 0; j < x.cols; ++j) t.f_bl.push_back(1 / x.variation.bitline_factor(j));
  }
  const size_t cells = static_cast<size_t>(x.rows) * x.cols;
  t.rnode.assign(cells, -1), t.cnode.assign(cells, -1);
  // Ideal lines have no unknowns: their layer is absent from the dissection.
  const NodeRect r = t.row_ideal ? NodeRect{} : NodeRect{0, x.rows, 0, x.cols};
  const NodeRect c = t.col_ideal ? NodeRect{} : NodeRect{0, x.rows, 0, x.cols};
  Dissection nd;
  nd.cols = x.cols;
  nd.leaf_nodes = nested ? kLeafNodes : r.area() + c.area();  // not nested: one leaf in natural order
  nd.order.reserve(2 * cells);
  nd.dissect(r, c);
  for (const auto& [cell, kind] : nd.order) {
    (kind == 0 ? t.rnode : t.cnode)[static_cast<size_t>(cell)] = t.n++;
    t.where.push_back({cell, kind});
  }
  t.supernode_start = std::move(nd.supernode_start);
  t.supernode_start.push_back(t.n);
  return t;
}

// Calls fn(g, a, b) for every wire segment.
template <class Fn>
void for_each_wire(const Topology& t, Fn&& fn) {
  if (!t.row_ideal)
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) fn(t.gw(i), j == 0 ? Term{-1, i} : t.row_term(i, j - 1), t.row_term(i, j));
  if (!t.col_ideal)
    for (int j = 0; j < t.cols; ++j) {
      for (int i = 0; i + 1 < t.rows; ++i) fn(t.gb(j), t.col_term(i, j), t.col_term(i + 1, j));
      fn(t.gb(j), t.col_term(t.rows - 1, j), Term{-1, -1});
    }
}

// The driver coupling B (unknowns x rows): conductances from unknowns to row drivers.
struct DriverStamper {
  std::vector<Eigen::Triplet<double>> b;
  void stamp(double g, Term p, Term q) {
    if (p.idx >= 0 && q.drive >= 0) b.emplace_back(p.idx, q.drive, g);
    if (q.idx >= 0 && p.drive >= 0) b.emplace_back(q.idx, p.drive, g);
  }
};

// The nodal matrix's lower triangle (elimination order), built column by column from the grid's
// neighbours: every unknown has at most three (two along its line, one through its cell), so this
// is O(unknowns) with no triplet sort, cheap enough to rebuild at every Newton step. Branches to a
// fixed node (driver, ground, an ideal line) only add to the diagonal. `cell_g(i, j)`: the cell's
// conductance (or its Jacobian dI/dV).
template <class CellG>
SpMat nodal_lower(const Topology& t, CellG&& cell_g) {
  std::vector<int> outer(static_cast<size_t>(t.n) + 1), inner;
  std::vector<double> val;
  inner.reserve(3 * static_cast<size_t>(t.n)), val.reserve(3 * static_cast<size_t>(t.n));
  for (int u = 0; u < t.n; ++u) {
    outer[u] = static_cast<int>(inner.size());
    const auto [cell, kind] = t.where[static_cast<size_t>(u)];
    const int i = cell / t.cols, j = cell % t.cols;
    double diag = 0;
    std::array<std::pair<int, double>, 3> below{};
    int nb = 0;
    auto link = [&](int v, double g) {  // v < 0: a fixed node
      diag += g;
      if (v > u) below[nb++] = {v, -g};
    };
    if (kind == 0) {  // row-line node: driver or left neighbour, right neighbour, cell to the column line
      link(j == 0 ? -1 : t.rnode[static_cast<size_t>(cell - 1)], t.gw(i));
      if (j + 1 < t.cols) link(t.rnode[static_cast<size_t>(cell + 1)], t.gw(i));
      link(t.col_ideal ? -1 : t.cnode[static_cast<size_t>(cell)], cell_g(i, j));
    } else {          // column-line node: upper neighbour, lower neighbour or the sense node, cell
      if (i > 0) link(t.cnode[static_cast<size_t>(cell - t.cols)], t.gb(j));
      link(i + 1 < t.rows ? t.cnode[static_cast<size_t>(cell + t.cols)] : -1, t.gb(j));
      link(t.row_ideal ? -1 : t.rnode[static_cast<size_t>(cell)], cell_g(i, j));
    }
    for (int a = 1; a < nb; ++a)  // at most three entries: insertion sort by row
      for (int b = a; b > 0 && below[b].first < below[b - 1].first; --b) std::swap(below[b], below[b - 1]);
    inner.push_back(u), val.push_back(diag);
    for (int k = 0; k < nb; ++k) inner.push_back(below[k].first), val.push_back(below[k].second);
  }
  outer[t.n] = static_cast<int>(inner.size());
  return Eigen::Map<const SpMat>(t.n, t.n, static_cast<long>(inner.size()), outer.data(), inner.data(), val.data());
}

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
  SpMat a, b, cmat, dmat;  // nodal matrix (baselines only), driver coupling, current functionals (cols x n, cols x rows)
  MultifrontalCholesky multifrontal;
  MultifrontalCholesky::SolveScope currents_scope;  // inputs enter at the drivers, currents leave at the sense ends
  Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::NaturalOrdering<int>> llt_nd;
  Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::AMDOrdering<int>> llt_amd;
  Eigen::SparseLU<SpMat, Eigen::COLAMDOrdering<int>> lu;
  double analyze_s = 0, factorize_s = 0;

  // Node voltages for the right-hand sides `rhs` (one per column).
  Eigen::MatrixXd solve_nodes(const Eigen::MatrixXd& rhs) const {
    switch (ordering) {
      case PassiveOrdering::nested_dissection: {
        MultifrontalCholesky::RowMatrix x = rhs;
        multifrontal.solve_in_place(x);
        return x;
      }
      case PassiveOrdering::nested_dissection_simplicial: return llt_nd.solve(rhs);
      case PassiveOrdering::amd: return llt_amd.solve(rhs);
      case PassiveOrdering::colamd_lu: return lu.solve(rhs);
    }
    return {};
  }

  // Column currents (cols x k) for row driver voltages (rows x k).
  Eigen::MatrixXd currents(const Eigen::MatrixXd& drive) const {
    Eigen::MatrixXd out = dmat * drive;
    if (topo.n == 0) return out;
    if (ordering != PassiveOrdering::nested_dissection) return out + cmat * solve_nodes(b * drive);
    // Only the fronts between the driven nodes and the sensed ones, on their compact rows.
    const auto& local = currents_scope.local;
    MultifrontalCholesky::RowMatrix x = MultifrontalCholesky::RowMatrix::Zero(currents_scope.compact_rows, drive.cols());
    for (int i = 0; i < b.outerSize(); ++i)
      for (SpMat::InnerIterator it(b, i); it; ++it) x.row(local[it.row()]) += it.value() * drive.row(i);
    multifrontal.solve_in_place(x, currents_scope);
    for (int u = 0; u < cmat.outerSize(); ++u)
      for (SpMat::InnerIterator it(cmat, u); it; ++it) out.row(it.row()) += it.value() * x.row(local[u]);
    return out;
  }
};

PassiveNetwork::PassiveNetwork(const netlist::Crossbar& x, PassiveOrdering ordering) : impl_(std::make_unique<Impl>()) {
  x.validate();
  if (!linear_grid(x))
    throw InputError("crossbar", "array.cell", "PassiveNetwork needs a grid array whose cells are all resistors");
  auto& m = *impl_;
  m.ordering = ordering;
  m.v_read = x.v_read_V;
  m.topo = make_topology(x, ordering == PassiveOrdering::nested_dissection ||
                                ordering == PassiveOrdering::nested_dissection_simplicial);
  const auto& t = m.topo;
  std::vector<double> conductance(static_cast<size_t>(t.rows) * t.cols);
  for_each_grid_cell(x, [&](int i, int j, const netlist::BranchSpec& d) {
    conductance[static_cast<size_t>(i) * t.cols + j] = 1 / d.resistance_ohm;
  });
  auto cell_g = [&](int i, int j) { return conductance[static_cast<size_t>(i) * t.cols + j]; };
  check_connected(t, cell_g);

  DriverStamper st;
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
    for (int j = 0; j < t.cols; ++j) c.emplace_back(j, t.col_term(t.rows - 1, j).idx, t.gb(j));
  m.b.resize(t.n, t.rows), m.cmat.resize(t.cols, t.n), m.dmat.resize(t.cols, t.rows);
  m.b.setFromTriplets(st.b.begin(), st.b.end());
  m.cmat.setFromTriplets(c.begin(), c.end());
  m.dmat.setFromTriplets(d.begin(), d.end());
  if (t.n == 0) return;

  auto t0 = Clock::now();
  const SpMat lower = nodal_lower(t, cell_g);
  if (ordering != PassiveOrdering::nested_dissection) m.a = lower.selfadjointView<Eigen::Lower>();  // baselines: full matrix
  Eigen::ComputationInfo info = Eigen::Success;
  switch (ordering) {
    case PassiveOrdering::nested_dissection: {
      m.multifrontal = MultifrontalCholesky(lower, t.supernode_start);
      std::vector<int> rhs_rows, wanted_rows;  // driven unknowns; unknowns the column currents read
      for (int k = 0; k < m.b.outerSize(); ++k)
        for (SpMat::InnerIterator it(m.b, k); it; ++it) rhs_rows.push_back(it.row());
      for (int k = 0; k < m.cmat.outerSize(); ++k)
        if (m.cmat.col(k).nonZeros() > 0) wanted_rows.push_back(k);
      m.currents_scope = m.multifrontal.scope(rhs_rows, wanted_rows);
      m.analyze_s = seconds_since(t0), t0 = Clock::now();
      if (const int bad = m.multifrontal.factorize(lower); bad >= 0)
        throw SolverError(fmt::format("native solver: the passive array's nodal matrix is not positive definite at the "
                                      "{} (check for zero or negative cell and wire resistances)", t.describe(bad)));
      break;
    }
    case PassiveOrdering::nested_dissection_simplicial:
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
    case PassiveOrdering::nested_dissection: return m.multifrontal.factor_entries();
    case PassiveOrdering::nested_dissection_simplicial:
      return m.topo.n ? m.llt_nd.matrixL().nestedExpression().nonZeros() : 0;
    case PassiveOrdering::amd: return m.topo.n ? m.llt_amd.matrixL().nestedExpression().nonZeros() : 0;
    case PassiveOrdering::colamd_lu: return m.topo.n ? m.lu.nnzL() + m.lu.nnzU() : 0;
  }
  return 0;
}

Eigen::MatrixXd PassiveNetwork::column_currents(const Eigen::MatrixXd& drive) const {
  const auto& m = *impl_;
  if (drive.rows() != m.topo.rows)
    throw InputError("", "drive", fmt::format("has {} rows, the array has {}", drive.rows(), m.topo.rows));
  return m.currents(drive);
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
  CrossbarSolution s;
  s.rows = t.rows, s.cols = t.cols;
  if (!node_voltages) {
    const Eigen::MatrixXd cur = m.currents(d);
    s.column_current_A.assign(cur.data(), cur.data() + cur.size());
    return s;
  }
  Eigen::VectorXd v;
  if (t.n > 0) v = m.solve_nodes(Eigen::MatrixXd(m.b * d)).col(0);
  const Eigen::VectorXd cur = m.dmat * d + (t.n > 0 ? Eigen::VectorXd(m.cmat * v) : Eigen::VectorXd::Zero(t.cols));
  s.column_current_A.assign(cur.data(), cur.data() + cur.size());
  {
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

// One nonlinear grid cell: the built-in ReRAM or the cell kind's own two-terminal equations
// (resistors too, when a grid mixes them with nonlinear cells).
class GridElement {
public:
  GridElement(const netlist::Crossbar& x, const netlist::BranchSpec& d) : spec_(d) {
    switch (d.kind) {
      case netlist::BranchSpec::Kind::reram: reram_ = Reram(x.reram, d.reram_gap_m); break;
      case netlist::BranchSpec::Kind::resistor: g_ = 1 / d.resistance_ohm; break;
      case netlist::BranchSpec::Kind::custom:
        if (!d.custom) throw Error("grid cell without a model (internal error)");
        break;
      case netlist::BranchSpec::Kind::transistor:
        throw InputError("crossbar", "array.cell",
                         fmt::format("cell kind '{}': the grid solver has no gate node for a transistor cell",
                                     x.cell_name()));
    }
  }
  void eval(double v, double& i, double& di_dv) const {
    switch (spec_.kind) {
      case netlist::BranchSpec::Kind::reram: reram_.eval(v, i, di_dv); return;
      case netlist::BranchSpec::Kind::custom: spec_.custom->eval(v, i, di_dv); return;
      default: i = g_ * v, di_dv = g_; return;
    }
  }

private:
  netlist::BranchSpec spec_;
  Reram reram_;
  double g_ = 0;
};

// Grid array with nonlinear cells: Newton on the nodal equations, each step a sparse Cholesky solve
// (the Jacobian is symmetric positive definite for cells with dI/dV > 0, e.g. ReRAM's cosh), with
// the symbolic analysis done once.
CrossbarSolution solve_passive_reram(const netlist::Crossbar& x, const PassiveOptions& opt, bool node_voltages) {
  const Topology t = make_topology(x, true);
  std::vector<GridElement> cells;
  cells.reserve(static_cast<size_t>(t.rows) * t.cols);
  for_each_grid_cell(x, [&](int, int, const netlist::BranchSpec& d) { cells.emplace_back(x, d); });
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

  MultifrontalCholesky chol;
  std::vector<double> cell_jacobian(static_cast<size_t>(t.rows) * t.cols);  // dI/dV of each cell
  const double vtol = opt.reltol * std::max(x.v_read_V, 1e-3);
  int it = 0;
  double last_dv = 0;
  bool converged = t.n == 0;
  for (it = 1; !converged && it <= opt.max_newton_iterations; ++it) {
    Eigen::VectorXd f = Eigen::VectorXd::Zero(t.n);  // currents leaving each unknown node
    auto add_current = [&](Term p, Term q, double i) {
      if (p.idx >= 0) f(p.idx) += i;
      if (q.idx >= 0) f(q.idx) -= i;
    };
    for_each_wire(t, [&](double g, Term p, Term q) { add_current(p, q, g * (value(p, v) - value(q, v))); });
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) {
        const Term r = t.row_term(i, j), c = t.col_term(i, j);
        double cur;
        const size_t k = static_cast<size_t>(i) * t.cols + j;
        cells[k].eval(value(r, v) - value(c, v), cur, cell_jacobian[k]);
        add_current(r, c, cur);
      }
    const SpMat jac_lower = nodal_lower(t, [&](int i, int j) { return cell_jacobian[static_cast<size_t>(i) * t.cols + j]; });
    if (it == 1) chol = MultifrontalCholesky(jac_lower, t.supernode_start);
    if (const int bad = chol.factorize(jac_lower); bad >= 0)
      throw SolverError(fmt::format("native solver: singular Jacobian in the nonlinear grid array at Newton iteration {} "
                                    "(pivot of the {})", it, t.describe(bad)));
    MultifrontalCholesky::RowMatrix dv = -f;
    chol.solve_in_place(dv);
    const double max_dv = dv.cwiseAbs().maxCoeff();
    if (!std::isfinite(max_dv))
      throw SolverError(fmt::format("native solver: non-finite Newton update in the passive array at iteration {}", it));
    const double damp = max_dv > 0.1 ? 0.1 / max_dv : 1.0;
    v += damp * dv.col(0);
    last_dv = max_dv;
    converged = damp == 1.0 && max_dv <= vtol;
  }
  if (!converged)
    throw SolverError(fmt::format(
        "native solver: Newton did not converge on the nonlinear grid array after {} iterations (last update {:.3g} V, "
        "tolerance {:.3g} V)", opt.max_newton_iterations, last_dv, vtol));

  CrossbarSolution s;
  s.rows = t.rows, s.cols = t.cols;
  s.newton_iterations = it - 1;
  s.column_current_A.assign(static_cast<size_t>(t.cols), 0.0);
  for (int j = 0; j < t.cols; ++j) {
    if (!t.col_ideal) {
      s.column_current_A[j] = t.gb(j) * value(t.col_term(t.rows - 1, j), v);
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
  if (!linear_grid(x)) return solve_passive_reram(x, opt, node_voltages);
  const PassiveNetwork net(x, opt.ordering);
  auto s = net.solve(x.inputs, node_voltages);
  s.newton_iterations = 1;
  return s;
}

}  // namespace xbarkit::circuit
