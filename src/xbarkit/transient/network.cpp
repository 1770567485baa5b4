#include "xbarkit/transient/network.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include <Eigen/SparseLU>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::transient {

// ---- signals and trajectories -------------------------------------------------------------------

double Signal::at(double time) const {
  if (traj) return traj->at(node, time);
  if (t.size() == 1 || time <= t.front()) return v.front();
  if (time >= t.back()) return v.back();
  const auto it = std::upper_bound(t.begin(), t.end(), time);
  const size_t k = static_cast<size_t>(it - t.begin());
  const double w = (time - t[k - 1]) / (t[k] - t[k - 1]);
  return v[k - 1] + w * (v[k] - v[k - 1]);
}

double Trajectory::at(int node, double time) const {
  const auto n = static_cast<size_t>(node);
  if (time <= t.front()) return v.front()[n];
  if (time >= t.back()) return v.back()[n];
  const size_t k = static_cast<size_t>(std::upper_bound(t.begin(), t.end(), time) - t.begin()) - 1;
  // Quadratic through the step's end points and its TR-BDF2 stage point (third-order accurate,
  // like the integrator itself is second order).
  const double t0 = t[k], t1 = t_mid[k], t2 = t[k + 1];
  const double y0 = v[k][n], y1 = v_mid[k][n], y2 = v[k + 1][n];
  const double l0 = (time - t1) * (time - t2) / ((t0 - t1) * (t0 - t2));
  const double l1 = (time - t0) * (time - t2) / ((t1 - t0) * (t1 - t2));
  const double l2 = (time - t0) * (time - t1) / ((t2 - t0) * (t2 - t1));
  return l0 * y0 + l1 * y1 + l2 * y2;
}

// ---- network construction -----------------------------------------------------------------------

Network::Network() { fixed_.push_back(Signal::constant(0.0)); }  // id -1: ground

int Network::add_node(double initial_guess_V) {
  guess_.push_back(initial_guess_V);
  return n_++;
}

int Network::add_fixed(Signal s) {
  fixed_.push_back(std::move(s));
  return -static_cast<int>(fixed_.size());
}

namespace {
Network::Element element(Network::Element::Kind kind, int a, int b, double value = 0) {
  Network::Element e;
  e.kind = kind;
  e.a = a;
  e.b = b;
  e.value = value;
  return e;
}
}  // namespace

void Network::resistor(int a, int b, double g_S) { elements_.push_back(element(Element::Kind::resistor, a, b, g_S)); }
void Network::capacitor(int a, int b, double c_F) {
  if (c_F > 0) elements_.push_back(element(Element::Kind::capacitor, a, b, c_F));
}
void Network::gate_charge(int a, const MvsGateCharge* q) {
  Element e = element(Element::Kind::gate_charge, a, kGround);
  e.q = q;
  elements_.push_back(e);
}
void Network::transistor(int d, int s, const circuit::MvsFet* fet, Signal gate) {
  Element e = element(Element::Kind::transistor, d, s);
  e.fet = fet;
  e.gate_signal = static_cast<int>(signals_.size());
  signals_.push_back(std::move(gate));
  elements_.push_back(e);
}
void Network::reram(int a, int b, const circuit::Reram& r) {
  Element e = element(Element::Kind::reram, a, b);
  e.rr = r;
  elements_.push_back(e);
}
void Network::branch(int a, int b, const netlist::BranchModel* model) {
  Element e = element(Element::Kind::branch, a, b);
  e.model = model;
  elements_.push_back(e);
}

// ---- linear algebra -----------------------------------------------------------------------------

namespace {

// Jacobian entries are collected as (row, col, value) and factored by a banded LU (ladders, wires)
// or a sparse LU (grids).
class LinearSolver {
public:
  static bool is_banded(int bandwidth) { return bandwidth <= 8; }
  double* band_data() { return banded_ ? band_.data() : nullptr; }
  LinearSolver(int n, int bandwidth) : n_(n), bw_(bandwidth), banded_(is_banded(bandwidth)) {
    if (banded_) band_.assign(static_cast<size_t>(n) * (2 * bw_ + 1), 0.0);
  }
  void clear() {
    if (banded_) std::fill(band_.begin(), band_.end(), 0.0);
    else triplets_.clear();
  }
  void add(int i, int j, double v) {
    if (banded_) band_[static_cast<size_t>(i) * (2 * bw_ + 1) + (j - i + bw_)] += v;
    else triplets_.emplace_back(i, j, v);
  }
  // Factors the collected matrix; throws SolverError if a pivot vanishes.
  void factor() {
    if (banded_) {
      switch (bw_) {
        case 0: band_factor<0>(); break;
        case 1: band_factor<1>(); break;
        case 2: band_factor<2>(); break;
        case 3: band_factor<3>(); break;
        case 4: band_factor<4>(); break;
        default: band_factor<-1>(); break;
      }
    } else {
      Eigen::SparseMatrix<double> m(n_, n_);
      m.setFromTriplets(triplets_.begin(), triplets_.end());
      m.makeCompressed();
      if (!analyzed_) {
        lu_.analyzePattern(m);
        analyzed_ = true;
      }
      lu_.factorize(m);
      if (lu_.info() != Eigen::Success) throw SolverError("transient: singular nodal matrix (floating node?)");
    }
  }
  void solve(std::vector<double>& rhs) const {
    if (banded_) {
      switch (bw_) {
        case 0: band_solve<0>(rhs); break;
        case 1: band_solve<1>(rhs); break;
        case 2: band_solve<2>(rhs); break;
        case 3: band_solve<3>(rhs); break;
        case 4: band_solve<4>(rhs); break;
        default: band_solve<-1>(rhs); break;
      }
    } else {
      Eigen::Map<Eigen::VectorXd> b(rhs.data(), n_);
      Eigen::VectorXd x = lu_.solve(b);
      b = x;
    }
  }

private:
  // Banded LU without pivoting, row-major band rows of width 2 bw + 1; BW >= 0 fixes the
  // bandwidth at compile time (the inner loops unroll), -1 takes bw_.
  template <int BW>
  void band_factor() {
    const int bw = BW >= 0 ? BW : bw_, w = 2 * bw + 1;
    double* a = band_.data();
    for (int k = 0; k < n_; ++k) {
      const double piv = a[static_cast<size_t>(k) * w + bw];
      if (!(std::abs(piv) > 0) || !std::isfinite(piv)) throw SolverError("transient: singular nodal matrix (floating node?)");
      const double inv = 1 / piv;
      const int last = std::min(n_ - 1, k + bw);
      for (int i = k + 1; i <= last; ++i) {
        double* ri = a + static_cast<size_t>(i) * w + (bw - i);  // ri[j] = A(i, j)
        const double* rk = a + static_cast<size_t>(k) * w + (bw - k);
        double& lik = ri[k];
        if (lik == 0) continue;
        lik *= inv;
        for (int j = k + 1; j <= last; ++j) ri[j] -= lik * rk[j];
      }
      // U's diagonal is kept as its reciprocal: band_solve multiplies instead of dividing (a
      // division's latency sat on the back substitution's dependency chain).
      a[static_cast<size_t>(k) * w + bw] = inv;
    }
  }
  template <int BW>
  void band_solve(std::vector<double>& rhs) const {
    const int bw = BW >= 0 ? BW : bw_, w = 2 * bw + 1;
    const double* a = band_.data();
    double* x = rhs.data();
    // Rows away from the ends have exactly bw off-diagonal terms: a fixed trip count the compiler
    // unrolls when BW is a template constant.
    const int head = std::min(bw, n_), tail = std::max(0, n_ - bw);
    for (int i = 0; i < head; ++i) {
      const double* ri = a + static_cast<size_t>(i) * w + (bw - i);
      double s = x[i];
      for (int k = 0; k < i; ++k) s -= ri[k] * x[k];
      x[i] = s;
    }
    for (int i = head; i < n_; ++i) {
      const double* ri = a + static_cast<size_t>(i) * w;  // ri[d] = A(i, i - bw + d)
      const double* xi = x + (i - bw);
      double s = x[i];
      for (int d = 0; d < bw; ++d) s -= ri[d] * xi[d];
      x[i] = s;
    }
    for (int i = n_ - 1; i >= tail; --i) {
      const double* ri = a + static_cast<size_t>(i) * w + (bw - i);
      double s = x[i];
      for (int j = i + 1; j < n_; ++j) s -= ri[j] * x[j];
      x[i] = s * ri[i];  // ri[i] holds 1 / U(i, i) (band_factor)
    }
    for (int i = tail - 1; i >= 0; --i) {
      const double* ri = a + static_cast<size_t>(i) * w + bw;  // ri[d] = A(i, i + d)
      const double* xi = x + i;
      double s = x[i];
      for (int d = 1; d <= bw; ++d) s -= ri[d] * xi[d];
      x[i] = s * ri[0];
    }
  }

  int n_, bw_;
  bool banded_;
  std::vector<double> band_;
  std::vector<Eigen::Triplet<double>> triplets_;
  Eigen::SparseLU<Eigen::SparseMatrix<double>, Eigen::COLAMDOrdering<int>> lu_;
  bool analyzed_ = false;
};

constexpr double kGamma = 2 - 1.4142135623730951;  // TR-BDF2's stage point, 2 - sqrt(2)

// The state the integrator carries between stages.
struct State {
  std::vector<double> v;   // node voltages
  std::vector<double> i;   // transistor currents (per element; 0 for other kinds)
  std::vector<double> q;   // charge of each charge element
  std::vector<double> iq;  // its current dq/dt
};

class Integrator {
public:
  Integrator(const Network& net, const IntegrateOptions& opt) : net_(net), opt_(opt) {
    const auto& el = net.elements();
    int bw = 0;
    for (const auto& e : el) {
      linear_ = linear_ && (e.kind == Network::Element::Kind::resistor || e.kind == Network::Element::Kind::capacitor);
      if (e.kind != Network::Element::Kind::gate_charge && e.a >= 0 && e.b >= 0) bw = std::max(bw, std::abs(e.a - e.b));
    }
    bandwidth_ = bw;
    using K = Network::Element::Kind;
    for (size_t k = 0; k < el.size(); ++k) {
      switch (el[k].kind) {
        case K::transistor: fets_.push_back(k); break;
        case K::resistor: res_.push_back(k); break;
        case K::capacitor: cap_.push_back(k); break;
        case K::gate_charge: gq_.push_back(k); break;
        default: nl_.push_back(k);
      }
    }
    bool uniform = !fets_.empty();
    for (size_t k : fets_) uniform = uniform && el[k].fet == el[fets_.front()].fet;
    if (uniform) batch_fet_ = el[fets_.front()].fet;
    for (auto* v : {&b_id_, &b_vd_, &b_vg_, &b_vs_, &b_g_, &b_gi_, &b_ga_, &b_gb_}) v->resize(fets_.size());
    size_t n_fixed = 0;
    for (const auto& e : el) n_fixed = std::max({n_fixed, static_cast<size_t>(e.a < 0 ? -e.a : 0), static_cast<size_t>(e.b < 0 ? -e.b : 0)});
    fixed_v_.assign(n_fixed, 0.0);
    // Band offsets of every element's four stamps (aa, ab, ba, bb; -1 where a node is fixed), and
    // the linear elements' fixed matrices G (resistors) and C (capacitors), when the LU is banded.
    if (LinearSolver::is_banded(bandwidth_)) {
      const int n = net.nodes(), w = 2 * bandwidth_ + 1;
      auto at = [&](int i, int j) { return i >= 0 && j >= 0 ? i * w + (j - i + bandwidth_) : -1; };
      off_.resize(el.size());
      for (size_t k = 0; k < el.size(); ++k) off_[k] = {at(el[k].a, el[k].a), at(el[k].a, el[k].b), at(el[k].b, el[k].a), at(el[k].b, el[k].b)};
      g_band_.assign(static_cast<size_t>(n) * w, 0.0);
      c_band_.assign(g_band_.size(), 0.0);
      auto add = [&](std::vector<double>& m, size_t k, double g) {
        const auto& o = off_[k];
        if (o[0] >= 0) m[static_cast<size_t>(o[0])] += g;
        if (o[1] >= 0) m[static_cast<size_t>(o[1])] -= g;
        if (o[2] >= 0) m[static_cast<size_t>(o[2])] -= g;
        if (o[3] >= 0) m[static_cast<size_t>(o[3])] += g;
      };
      for (size_t k : res_) add(g_band_, k, el[k].value);
      for (size_t k : cap_) add(c_band_, k, el[k].value);
    }
  }

  double node_v(const std::vector<double>& v, int id, double t) const {
    return id >= 0 ? v[static_cast<size_t>(id)] : net_.fixed_signal(id).at(t);
  }

  // Charge of element e and its derivatives with respect to its a and b node voltages.
  double charge(const Network::Element& e, const std::vector<double>& v, double t, double& dqa, double& dqb) const {
    if (e.kind == Network::Element::Kind::capacitor) {
      dqa = e.value;
      dqb = -e.value;
      return e.value * (node_v(v, e.a, t) - node_v(v, e.b, t));
    }
    double q, c;
    e.q->eval(node_v(v, e.a, t), q, c);
    dqa = c;
    dqb = 0;
    return q;
  }
  static bool is_charge(const Network::Element& e) {
    return e.kind == Network::Element::Kind::capacitor || e.kind == Network::Element::Kind::gate_charge;
  }

  // Current of a static element from a to b, and dI/dVa, dI/dVb (transistors: the condensed
  // Newton form, see solve_stage).
  void static_current(const Network::Element& e, const std::vector<double>& v, double t, double& i, double& da, double& db) const {
    const double va = node_v(v, e.a, t), vb = node_v(v, e.b, t);
    switch (e.kind) {
      case Network::Element::Kind::resistor:
        i = e.value * (va - vb);
        da = e.value;
        db = -e.value;
        return;
      case Network::Element::Kind::reram: {
        double g;
        e.rr.eval(va - vb, i, g);
        da = g;
        db = -g;
        return;
      }
      case Network::Element::Kind::branch: {
        double g;
        e.model->eval(va - vb, i, g);
        da = g;
        db = -g;
        return;
      }
      default:
        i = da = db = 0;
    }
  }

  // Fixed-node voltages at time t, once per stage (a trajectory lookup is a search and a quadratic).
  void eval_fixed(double t) {
    const int nf = static_cast<int>(fixed_v_.size());
    for (int f = 0; f < nf; ++f) fixed_v_[static_cast<size_t>(f)] = net_.fixed_signal(-f - 1).at(t);
  }
  double nv(const std::vector<double>& v, int id) const {
    return id >= 0 ? v[static_cast<size_t>(id)] : fixed_v_[static_cast<size_t>(-id - 1)];
  }

  // Solves one implicit stage at time t: sum over elements of the current leaving each node = 0,
  // with charge element currents alpha * (q(v) - r). alpha = 0: DC. Updates s.v, s.i, and returns
  // the charge element currents in iq_out.
  //
  // Assembly follows a plan made once per network (constructor): the resistors' and linear
  // capacitors' band entries are the fixed matrices G and C (the Jacobian is G + alpha C plus the
  // nonlinear elements' stamps at precomputed band offsets), fixed-node voltages are evaluated
  // once per stage, and each element kind is a tight loop of its own.
  void solve_stage(State& s, double t, double alpha, const std::vector<double>& r, std::vector<double>& iq_out,
                   std::vector<double>& q_out) {
    const auto& el = net_.elements();
    const int n = net_.nodes();
    auto& rhs = rhs_;
    rhs.resize(static_cast<size_t>(n));
    eval_fixed(t);
    for (size_t m = 0; m < fets_.size(); ++m)
      b_vg_[m] = net_.signals()[static_cast<size_t>(el[fets_[m]].gate_signal)].at(t);
    auto leave = [&](int node, double current) {
      if (node >= 0) rhs[static_cast<size_t>(node)] -= current;  // rhs = -R
    };
    double prev_update = 0, prev_prev_update = 0;
    bool prev_damped = false;
    for (int it = 0; it < opt_.max_newton; ++it) {
      ++newton_;
      LinearSolver* ls = nullptr;
      const bool reuse = linear_ && it == 0 && alpha > 0;
      if (reuse) {
        auto found = cache_.find(alpha);
        if (found != cache_.end()) ls = found->second.get();
      }
      // Chord iterations: the second and third Newton iterations of a stage reuse the first one's
      // factored Jacobian (the residual is always fresh, so the solution is the same; only the
      // contraction is linear instead of quadratic) while the updates shrink fast; otherwise, and
      // from the fourth iteration on, full Newton.
      if (!linear_ && scratch_ && it > 0 && it < 3 && !prev_damped && (it == 1 || prev_update < 0.25 * prev_prev_update))
        ls = scratch_.get();
      const bool assemble_matrix = ls == nullptr;
      double* band = nullptr;
      if (assemble_matrix) {
        if (linear_ && alpha > 0) {
          if (cache_.size() > 64) cache_.clear();
          ls = cache_.emplace(alpha, std::make_unique<LinearSolver>(n, bandwidth_)).first->second.get();
        } else {
          if (!scratch_) scratch_ = std::make_unique<LinearSolver>(n, bandwidth_);
          ls = scratch_.get();
        }
        band = ls->band_data();
        if (band) {
          // Jacobian of the linear elements: G + alpha C.
          const size_t nb = g_band_.size();
          for (size_t k = 0; k < nb; ++k) band[k] = g_band_[k] + alpha * c_band_[k];
        } else {
          ls->clear();
          for (size_t k : res_) stamp_generic(*ls, el[k], el[k].value);
          for (size_t k : cap_) stamp_generic(*ls, el[k], alpha * el[k].value);
        }
      }
      std::fill(rhs.begin(), rhs.end(), 0.0);
      auto stamp = [&](size_t k, double da, double db) {
        if (!assemble_matrix) return;
        if (band) {
          const auto& o = off_[k];
          if (o[0] >= 0) band[o[0]] += da;
          if (o[1] >= 0) band[o[1]] += db;
          if (o[2] >= 0) band[o[2]] -= da;
          if (o[3] >= 0) band[o[3]] -= db;
        } else {
          const auto& e = el[k];
          if (e.a >= 0) ls->add(e.a, e.a, da);
          if (e.a >= 0 && e.b >= 0) ls->add(e.a, e.b, db);
          if (e.b >= 0 && e.a >= 0) ls->add(e.b, e.a, -da);
          if (e.b >= 0) ls->add(e.b, e.b, -db);
        }
      };
      // Linear elements: currents only (their Jacobian is in G + alpha C).
      for (size_t k : res_) {
        const auto& e = el[k];
        const double i = e.value * (nv(s.v, e.a) - nv(s.v, e.b));
        leave(e.a, i);
        leave(e.b, -i);
      }
      for (size_t k : cap_) {
        const auto& e = el[k];
        const double ic = alpha * (e.value * (nv(s.v, e.a) - nv(s.v, e.b)) - r[k]);
        leave(e.a, ic);
        leave(e.b, -ic);
      }
      for (size_t k : gq_) {
        const auto& e = el[k];
        double q, c;
        e.q->eval(nv(s.v, e.a), q, c);
        const double ic = alpha * (q - r[k]);
        leave(e.a, ic);
        stamp(k, alpha * c, 0.0);
      }
      for (size_t k : nl_) {
        const auto& e = el[k];
        double i, da, db;
        static_current_v(e, nv(s.v, e.a), nv(s.v, e.b), i, da, db);
        leave(e.a, i);
        leave(e.b, -i);
        stamp(k, da, db);
      }
      // Transistors: Id is an unknown with residual g(Id; Vd, Vg, Vs) = 0. One Newton step
      // eliminates it: Id_new = Id - (g + g_d dVd + g_s dVs) / g_i, linear in the node updates.
      // All residuals in one vectorized batch when they share a device (a ladder column).
      const size_t nfet = fets_.size();
      for (size_t m = 0; m < nfet; ++m) {
        const auto& e = el[fets_[m]];
        b_id_[m] = s.i[fets_[m]];
        b_vd_[m] = nv(s.v, e.a);
        b_vs_[m] = nv(s.v, e.b);
      }
      if (batch_fet_) {
        batch_fet_->residual_batch(static_cast<int>(nfet), b_id_.data(), b_vd_.data(), b_vg_.data(), b_vs_.data(), b_g_.data(),
                                   b_gi_.data(), b_ga_.data(), b_gb_.data());
      } else {
        for (size_t m = 0; m < nfet; ++m) {
          const auto res = el[fets_[m]].fet->residual(b_id_[m], b_vd_[m], b_vg_[m], b_vs_[m]);
          b_g_[m] = res.g;
          b_gi_[m] = res.g_i;
          b_ga_[m] = res.g_a;
          b_gb_[m] = res.g_b;
        }
      }
      for (size_t m = 0; m < nfet; ++m) {
        const size_t k = fets_[m];
        const auto& e = el[k];
        const double inv_gi = 1 / b_gi_[m];
        const double i_lin = b_id_[m] - b_g_[m] * inv_gi;
        leave(e.a, i_lin);
        leave(e.b, -i_lin);
        stamp(k, -b_ga_[m] * inv_gi, -b_gb_[m] * inv_gi);
      }
      if (assemble_matrix) {
        ls->factor();
        ++factorizations_;
      }
      ls->solve(rhs);
      double biggest = 0;
      for (double d : rhs) biggest = std::max(biggest, std::abs(d));
      // Damping: no node moves by more than 0.2 V per iteration (exponential devices).
      const double scale = biggest > 0.2 ? 0.2 / biggest : 1.0;
      prev_prev_update = prev_update;
      prev_update = biggest;
      prev_damped = scale < 1;
      bool converged = true;
      for (int k = 0; k < n; ++k) {
        const double d = scale * rhs[static_cast<size_t>(k)];
        s.v[static_cast<size_t>(k)] += d;
        if (std::abs(d) > opt_.newton_tol_V + 1e-9 * std::abs(s.v[static_cast<size_t>(k)])) converged = false;
      }
      for (size_t m = 0; m < nfet; ++m) {
        const size_t k = fets_[m];
        const auto& e = el[k];
        const double dvd = e.a >= 0 ? scale * rhs[static_cast<size_t>(e.a)] : 0.0;
        const double dvs = e.b >= 0 ? scale * rhs[static_cast<size_t>(e.b)] : 0.0;
        const double di = -(b_g_[m] + b_ga_[m] * dvd + b_gb_[m] * dvs) / b_gi_[m];
        s.i[k] += di;
        // ngspice's abstol (1e-15 A) as the absolute floor: a leaking cell's femtoamps do not
        // move any node by more than the voltage tolerance.
        if (std::abs(di) > 1e-8 * std::abs(s.i[k]) + 1e-15) converged = false;
      }
      if (scale < 1) converged = false;
      if (!std::all_of(s.v.begin(), s.v.end(), [](double x) { return std::isfinite(x); }))
        throw SolverError("transient: Newton diverged (non-finite node voltage)");
      if (converged || (linear_ && scale == 1)) {
        // Charge element currents and charges at the solution.
        for (size_t k : cap_) {
          const auto& e = el[k];
          q_out[k] = e.value * (nv(s.v, e.a) - nv(s.v, e.b));
          iq_out[k] = alpha * (q_out[k] - r[k]);
        }
        for (size_t k : gq_) {
          double c;
          el[k].q->eval(nv(s.v, el[k].a), q_out[k], c);
          iq_out[k] = alpha * (q_out[k] - r[k]);
        }
        return;
      }
    }
    throw SolverError(fmt::format("transient: Newton did not converge at t = {:.4g} s", t));
  }

  static void stamp_generic(LinearSolver& ls, const Network::Element& e, double g) {
    if (e.a >= 0) ls.add(e.a, e.a, g);
    if (e.a >= 0 && e.b >= 0) ls.add(e.a, e.b, -g);
    if (e.b >= 0 && e.a >= 0) ls.add(e.b, e.a, -g);
    if (e.b >= 0) ls.add(e.b, e.b, g);
  }

  // Current of a two-terminal nonlinear element (ReRAM, cell branch) from a to b at Va, Vb.
  static void static_current_v(const Network::Element& e, double va, double vb, double& i, double& da, double& db) {
    double g;
    if (e.kind == Network::Element::Kind::reram) e.rr.eval(va - vb, i, g);
    else e.model->eval(va - vb, i, g);
    da = g;
    db = -g;
  }

  // Current leaving fixed node `id` into the network (the source's output current).
  double fixed_outflow(const State& s, int id, double t) {
    auto found = attached_.find(id);
    if (found == attached_.end()) {
      std::vector<size_t> list;
      for (size_t k = 0; k < net_.elements().size(); ++k)
        if (net_.elements()[k].a == id || net_.elements()[k].b == id) list.push_back(k);
      found = attached_.emplace(id, std::move(list)).first;
    }
    double out = 0;
    const auto& el = net_.elements();
    for (size_t k : found->second) {
      const auto& e = el[k];
      double i = 0;
      if (is_charge(e)) i = s.iq[k];
      else if (e.kind == Network::Element::Kind::transistor) i = s.i[k];
      else {
        double da, db;
        static_current(e, s.v, t, i, da, db);
      }
      out += e.a == id ? i : -i;
    }
    return out;
  }

  IntegrateResult run(const std::vector<int>& probes) {
    const auto& el = net_.elements();
    IntegrateResult res;
    res.fixed_current_A.resize(probes.size());
    State s;
    s.v = net_.initial_guess();
    s.i.assign(el.size(), 0.0);
    s.q.assign(el.size(), 0.0);
    s.iq.assign(el.size(), 0.0);
    for (size_t k = 0; k < el.size(); ++k)
      if (el[k].kind == Network::Element::Kind::transistor) {
        const auto& e = el[k];
        const double vg = net_.signals()[static_cast<size_t>(e.gate_signal)].at(0);
        s.i[k] = e.fet->current(node_v(s.v, e.a, 0), vg, node_v(s.v, e.b, 0)).i;
      }
    // DC operating point at t = 0: no charge currents.
    std::vector<double> r(el.size(), 0.0), iq(el.size(), 0.0), q(el.size(), 0.0);
    solve_stage(s, 0.0, 0.0, r, iq, q);
    s.q = q;
    s.iq.assign(el.size(), 0.0);
    auto record_state = [&](const State& st, double t) {
      res.t.push_back(t);
      for (size_t p = 0; p < probes.size(); ++p) res.fixed_current_A[p].push_back(fixed_outflow(st, probes[p], t));
    };
    auto record = [&](double t) { record_state(s, t); };
    record(0.0);
    if (opt_.record_trajectory) {
      res.trajectory.t.push_back(0.0);
      res.trajectory.v.push_back(s.v);
    }

    std::vector<double> bps = opt_.breakpoints;
    bps.push_back(opt_.t_stop_s);
    std::sort(bps.begin(), bps.end());
    const double h_max = opt_.h_max_s > 0 ? opt_.h_max_s : opt_.t_stop_s / 100;
    int level = 6;  // h = h_max / 2^level
    bool have_prev = false;
    double t_prev = 0;
    std::vector<double> v_prev, i_prev;
    double t = 0;
    constexpr double kc = (-3 * kGamma * kGamma + 4 * kGamma - 2) / (12 * (2 - kGamma));
    while (t < opt_.t_stop_s * (1 - 1e-12)) {
      double h = std::ldexp(h_max, -level);
      const double next_bp = *std::upper_bound(bps.begin(), bps.end(), t * (1 + 1e-12) + 1e-30);
      bool to_bp = false;
      if (t + h >= next_bp * (1 - 1e-9)) {
        h = next_bp - t;
        to_bp = true;
      }
      // Predictor: the previous step's slope carried forward (Newton then needs one or two
      // iterations per stage instead of four to six).
      State s1 = s, s2;
      if (have_prev) {
        const double w = kGamma * h / (t - t_prev);
        for (size_t k = 0; k < s1.v.size(); ++k) s1.v[k] += w * (s.v[k] - v_prev[k]);
        for (size_t k = 0; k < s1.i.size(); ++k) s1.i[k] += w * (s.i[k] - i_prev[k]);
      }
      std::vector<double> r1(el.size()), q1(el.size()), i1(el.size()), r2(el.size()), q2(el.size()), i2(el.size());
      bool ok = true;
      try {
        const double a1 = 2 / (kGamma * h);
        for (size_t k = 0; k < el.size(); ++k) r1[k] = s.q[k] + kGamma * h / 2 * s.iq[k];
        solve_stage(s1, t + kGamma * h, a1, r1, i1, q1);
        s2 = s1;
        const double w2 = (1 - kGamma) / kGamma;
        for (size_t k = 0; k < s2.v.size(); ++k) s2.v[k] += w2 * (s1.v[k] - s.v[k]);
        for (size_t k = 0; k < s2.i.size(); ++k) s2.i[k] += w2 * (s1.i[k] - s.i[k]);
        const double a2 = (2 - kGamma) / ((1 - kGamma) * h);
        const double c1 = 1 / (kGamma * (2 - kGamma)), c0 = (1 - kGamma) * (1 - kGamma) / (kGamma * (2 - kGamma));
        for (size_t k = 0; k < el.size(); ++k) r2[k] = c1 * q1[k] - c0 * s.q[k];
        solve_stage(s2, t + h, a2, r2, i2, q2);
      } catch (const SolverError&) {
        ok = false;
      }
      // Local truncation error per node (V): the embedded estimate on charge element currents,
      // summed at each node and divided by the node's own capacitance.
      double ratio = 0;
      if (ok) {
        std::vector<double> err(static_cast<size_t>(net_.nodes()), 0.0), cap(static_cast<size_t>(net_.nodes()), 0.0);
        for (size_t k = 0; k < el.size(); ++k) {
          if (!is_charge(el[k])) continue;
          const double est = 2 * kc * h * (s.iq[k] / kGamma - i1[k] / (kGamma * (1 - kGamma)) + i2[k] / (1 - kGamma));
          double dqa, dqb;
          charge(el[k], s2.v, t + h, dqa, dqb);
          // A nonlinear charge is measured against its full (oxide) capacitance: below threshold
          // dQ/dV is ~1e-7 of it, and dividing a charge error by that would demand femtosecond
          // steps for a node that simply follows its driver (ngspice likewise bounds charge errors
          // by a charge tolerance, not by the local capacitance).
          if (el[k].kind == Network::Element::Kind::gate_charge) dqa = std::max(dqa, el[k].q->oxide_capacitance_F());
          if (el[k].a >= 0) {
            err[static_cast<size_t>(el[k].a)] += est;
            cap[static_cast<size_t>(el[k].a)] += dqa;
          }
          if (el[k].b >= 0) {
            err[static_cast<size_t>(el[k].b)] -= est;
            cap[static_cast<size_t>(el[k].b)] -= dqb;
          }
        }
        for (int k = 0; k < net_.nodes(); ++k) {
          const auto u = static_cast<size_t>(k);
          if (!(cap[u] > 0)) continue;
          const double tol = opt_.lte_abs_V + opt_.lte_rel * std::abs(s2.v[u]);
          ratio = std::max(ratio, std::abs(err[u] / cap[u]) / tol);
        }
      }
      if (!ok || ratio > 1) {
        ++res.rejected;
        ++level;
        if (level > 60) throw SolverError(fmt::format("transient: step size underflow at t = {:.4g} s", t));
        continue;
      }
      ++res.steps;
      if (opt_.record_trajectory) {
        res.trajectory.t_mid.push_back(t + kGamma * h);
        res.trajectory.v_mid.push_back(s1.v);
      }
      if (opt_.record_stage_points) {
        s1.iq = i1;
        record_state(s1, t + kGamma * h);
      }
      // After a breakpoint (a corner of a driving signal) the old slope is no predictor.
      have_prev = !to_bp;
      t_prev = t;
      v_prev = s.v;
      i_prev = s.i;
      t = to_bp ? next_bp : t + h;
      s = std::move(s2);
      s.q = q2;
      s.iq = i2;
      record(t);
      if (opt_.record_trajectory) {
        res.trajectory.t.push_back(t);
        res.trajectory.v.push_back(s.v);
      }
      // Third-order error: halving the step divides it by 8; grow (up to 8x) while the larger step
      // is still predicted to pass with a 0.9 safety factor.
      for (int grow = 0; grow < 3 && level > 0 && ratio * 8 < 0.9 * 0.9 * 0.9; ++grow) {
        --level;
        ratio *= 8;
      }
      if (res.steps > 20000000) throw SolverError(fmt::format("transient: more than 2e7 steps by t = {:.4g} s", t));
    }
    res.newton_iterations = newton_;
    if (std::getenv("XBARKIT_TRANSIENT_STATS"))
      std::fprintf(stderr, "transient: %d nodes, %zu elements, %d steps, %d rejected, %d Newton iterations, %d factorizations\n",
                   net_.nodes(), net_.elements().size(), res.steps, res.rejected, newton_, factorizations_);
    res.factorizations = factorizations_;
    return res;
  }

private:
  const Network& net_;
  const IntegrateOptions& opt_;
  int bandwidth_ = 0;
  bool linear_ = true;
  std::map<double, std::unique_ptr<LinearSolver>> cache_;
  std::unique_ptr<LinearSolver> scratch_;
  std::vector<double> rhs_;
  std::vector<size_t> fets_, res_, cap_, gq_, nl_;  // element indices by kind (nl_: ReRAM, branches)
  std::vector<std::array<int, 4>> off_;           // band offsets of each element's stamps
  std::vector<double> g_band_, c_band_;           // resistors' and linear capacitors' band matrices
  std::vector<double> fixed_v_;                   // fixed-node voltages at the current stage's time
  const circuit::MvsFet* batch_fet_ = nullptr;
  std::vector<double> b_id_, b_vd_, b_vg_, b_vs_, b_g_, b_gi_, b_ga_, b_gb_;
  std::map<int, std::vector<size_t>> attached_;
  int newton_ = 0, factorizations_ = 0;
};

}  // namespace

IntegrateResult integrate(const Network& net, const std::vector<int>& probes, const IntegrateOptions& opt) {
  if (!(opt.t_stop_s > 0)) throw InputError("", "t_stop", "the transient window must be > 0 s");
  Integrator integrator(net, opt);
  return integrator.run(probes);
}

}  // namespace xbarkit::transient
