#include "xbarkit/circuit/multifrontal.hpp"

#include "xbarkit/core/error.hpp"

#include <algorithm>
#include <stdexcept>

#include <Eigen/Cholesky>
#include <fmt/format.h>

namespace xbarkit::circuit {

namespace {
using DenseMap = Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>;
// Read-only use; Eigen's in-place triangular solves want a mutable matrix type (see solve_in_place).
using ConstDenseMap = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>;
}  // namespace

MultifrontalCholesky::MultifrontalCholesky(const SparseLower& lower, std::vector<int> supernode_start)
    : n_(static_cast<int>(lower.cols())), start_(std::move(supernode_start)) {
  if (lower.rows() != lower.cols())
    throw SolverError("MultifrontalCholesky: the matrix is not square");
  if (start_.empty() || start_.front() != 0 || start_.back() != n_ ||
      !std::is_sorted(start_.begin(), start_.end()) ||
      std::adjacent_find(start_.begin(), start_.end()) != start_.end())
    throw SolverError("MultifrontalCholesky: supernode starts must increase strictly from 0 to n");
  const int ns_total = supernodes();
  std::vector<int> super_of(static_cast<size_t>(n_));
  for (int s = 0; s < ns_total; ++s) std::fill(super_of.begin() + start_[s], super_of.begin() + start_[s + 1], s);

  // Front structure of each supernode: the rows below it that its own columns touch, plus those of
  // its children's fronts (the fill the children's eliminations create). Children come first in
  // the order, so one pass in order sees every child before its parent.
  std::vector<std::vector<int>> children(static_cast<size_t>(ns_total));
  std::vector<int> mark(static_cast<size_t>(n_), -1);
  parent_.assign(static_cast<size_t>(ns_total), -1);
  row_begin_.assign(1, 0);
  value_begin_.assign(1, 0);
  for (int s = 0; s < ns_total; ++s) {
    const int first = start_[s], end = start_[s + 1];
    const size_t row0 = rows_.size();
    auto add = [&](int r) {
      if (r >= end && mark[r] != s) mark[r] = s, rows_.push_back(r);
    };
    for (int col = first; col < end; ++col)
      for (SparseLower::InnerIterator it(lower, col); it; ++it) {
        if (it.row() < col) throw SolverError("MultifrontalCholesky: entry above the diagonal");
        add(it.row());
      }
    for (const int c : children[s])
      for (int k = row_begin_[c]; k < row_begin_[c + 1]; ++k) add(rows_[k]);
    std::sort(rows_.begin() + static_cast<long>(row0), rows_.end());
    row_begin_.push_back(static_cast<int>(rows_.size()));
    const long ns = end - first, nb = static_cast<long>(rows_.size() - row0), m = ns + nb;
    value_begin_.push_back(value_begin_.back() + m * ns);
    factor_entries_ += ns * (ns + 1) / 2 + nb * ns;
    flops_ += ns * ns * ns / 3.0 + static_cast<double>(nb) * ns * ns + static_cast<double>(nb) * nb * ns;
    largest_front_ = std::max(largest_front_, static_cast<int>(m));
    max_rows_below_ = std::max(max_rows_below_, static_cast<int>(nb));
    if (nb > 0) {
      parent_[s] = super_of[rows_[row0]];
      children[parent_[s]].push_back(s);
    }
  }

  // Is the order a post-order (each supernode's children are the top of the update stack when it
  // is reached)? Simulate the stack to find out and to size it.
  postordered_ = true;
  std::vector<int> stack;
  long stack_size = 0, stack_peak = 0, work_size = 0;
  auto update_size = [&](int s) { return static_cast<long>(row_begin_[s + 1] - row_begin_[s]) * (row_begin_[s + 1] - row_begin_[s]); };
  for (int s = 0; s < ns_total && postordered_; ++s) {
    const auto& kids = children[s];
    if (stack.size() < kids.size() || !std::equal(kids.begin(), kids.end(), stack.end() - static_cast<long>(kids.size()))) {
      postordered_ = false;
      break;
    }
    for (const int c : kids) stack_size -= update_size(c);
    stack.resize(stack.size() - kids.size());
    if (parent_[s] >= 0) stack.push_back(s), stack_size += update_size(s);
    stack_peak = std::max(stack_peak, stack_size);
  }
  for (int s = 0; s < ns_total; ++s) work_size = std::max(work_size, update_size(s));
  // Allocate the factor and the workspaces once, for every refactorization (e.g. Newton steps).
  values_.resize(static_cast<size_t>(value_begin_.back()));
  stack_.resize(postordered_ ? static_cast<size_t>(stack_peak) : 0);
  work_.resize(static_cast<size_t>(work_size));
}

int MultifrontalCholesky::factorize(const SparseLower& lower) {
  if (lower.cols() != n_ || lower.rows() != n_)
    throw SolverError("MultifrontalCholesky::factorize: matrix size differs from the analysed one");
  const int ns_total = supernodes();
  std::vector<std::vector<int>> children(static_cast<size_t>(ns_total));
  for (int s = 0; s < ns_total; ++s)
    if (parent_[s] >= 0) children[parent_[s]].push_back(s);
  std::vector<std::vector<double>> pending(postordered_ ? 0 : static_cast<size_t>(ns_total));  // not post-ordered
  std::vector<long> child_at;  // where each child's update starts on the stack
  long stack_top = 0;
  std::vector<int> pos(static_cast<size_t>(n_), -1);  // global index -> position in the current front

  for (int s = 0; s < ns_total; ++s) {
    const int first = start_[s], ns = start_[s + 1] - first;
    const int* rows = rows_.data() + row_begin_[s];
    const int nb = row_begin_[s + 1] - row_begin_[s], m = ns + nb;
    for (int k = 0; k < ns; ++k) pos[first + k] = k;
    for (int t = 0; t < nb; ++t) pos[rows[t]] = ns + t;
    double* front = values_.data() + value_begin_[s];  // the front's first ns columns, leading dimension m
    double* u = work_.data();                          // the rest of the front: the update block, nb x nb
    std::fill(front, front + static_cast<long>(m) * ns, 0.0);
    for (int j = 0; j < nb; ++j) std::fill(u + static_cast<long>(j) * nb + j, u + static_cast<long>(j + 1) * nb, 0.0);  // lower triangle

    // Assemble: the matrix's own columns, then the children's updates (extend-add). Positions grow
    // with the global index, so a child's lower triangle lands in the front's lower triangle.
    for (int k = 0; k < ns; ++k)
      for (SparseLower::InnerIterator it(lower, first + k); it; ++it) {
        const int p = pos[it.row()];
        if (p < 0) throw SolverError("MultifrontalCholesky::factorize: entry outside the analysed pattern");
        front[static_cast<long>(k) * m + p] += it.value();
      }
    const auto& kids = children[s];
    if (postordered_) {
      child_at.resize(kids.size());
      for (size_t c = kids.size(); c-- > 0;) {  // the children are the top of the stack, last on top
        const long cb = row_begin_[kids[c] + 1] - row_begin_[kids[c]];
        child_at[c] = stack_top -= cb * cb;
      }
    }
    for (size_t c = 0; c < kids.size(); ++c) {
      const int* crow = rows_.data() + row_begin_[kids[c]];
      const int cb = row_begin_[kids[c] + 1] - row_begin_[kids[c]];
      const double* cu = postordered_ ? stack_.data() + child_at[c] : pending[kids[c]].data();
      for (int j = 0; j < cb; ++j) {
        const int pj = pos[crow[j]];
        const double* src = cu + static_cast<long>(j) * cb;
        if (pj < ns) {  // a column of the supernode itself
          double* dst = front + static_cast<long>(pj) * m;
          for (int i = j; i < cb; ++i) dst[pos[crow[i]]] += src[i];
        } else {        // a column of the update passed on to the parent
          double* dst = u + static_cast<long>(pj - ns) * nb;
          for (int i = j; i < cb; ++i) dst[pos[crow[i]] - ns] += src[i];
        }
      }
      if (!postordered_) std::vector<double>().swap(pending[kids[c]]);
    }

    // Partial dense factorization: L11 = chol(F11), L21 = F21 L11^-T, update F22 -= L21 L21^T.
    DenseMap l11(front, ns, ns, Eigen::OuterStride<>(m));
    Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(l11);
    if (llt.info() != Eigen::Success) return first;
    if (nb > 0) {
      DenseMap l21(front + ns, nb, ns, Eigen::OuterStride<>(m));
      l11.triangularView<Eigen::Lower>().transpose().solveInPlace<Eigen::OnTheRight>(l21);
      DenseMap f22(u, nb, nb, Eigen::OuterStride<>(nb));
      f22.selfadjointView<Eigen::Lower>().rankUpdate(l21, -1.0);
      const long size = static_cast<long>(nb) * nb;
      double* dst = postordered_ ? stack_.data() + stack_top : (pending[s].resize(static_cast<size_t>(size)), pending[s].data());
      for (int j = 0; j < nb; ++j)  // only the lower triangle is ever read
        std::copy(u + static_cast<long>(j) * nb + j, u + static_cast<long>(j + 1) * nb, dst + static_cast<long>(j) * nb + j);
      if (postordered_) stack_top += size;
    }
    for (int k = 0; k < ns; ++k) pos[first + k] = -1;
    for (int t = 0; t < nb; ++t) pos[rows[t]] = -1;
  }
  return -1;
}

MultifrontalCholesky::SolveScope MultifrontalCholesky::scope(const std::vector<int>& rhs_rows,
                                                            const std::vector<int>& wanted_rows) const {
  const int ns_total = supernodes();
  SolveScope sc;
  sc.forward.assign(static_cast<size_t>(ns_total), 0);
  sc.backward.assign(static_cast<size_t>(ns_total), 0);
  auto super_of = [&](int row) {
    if (row < 0 || row >= n_) throw SolverError(fmt::format("MultifrontalCholesky::scope: row {} out of range", row));
    return static_cast<int>(std::upper_bound(start_.begin(), start_.end(), row) - start_.begin()) - 1;
  };
  for (const int r : rhs_rows) sc.forward[super_of(r)] = 1;
  for (const int r : wanted_rows) sc.backward[super_of(r)] = 1;
  // Close both sets upwards (parents come after their children). The visited rows are then closed
  // too: a visited supernode's front rows belong to its ancestors.
  for (int s = 0; s < ns_total; ++s)
    if (parent_[s] >= 0) {
      sc.forward[parent_[s]] |= sc.forward[s];
      sc.backward[parent_[s]] |= sc.backward[s];
    }
  sc.local.assign(static_cast<size_t>(n_), -1);
  for (int s = 0; s < ns_total; ++s) {
    if (!sc.forward[s] && !sc.backward[s]) continue;
    for (int r = start_[s]; r < start_[s + 1]; ++r) sc.local[r] = sc.compact_rows++;
    const long ns = start_[s + 1] - start_[s], nb = row_begin_[s + 1] - row_begin_[s];
    sc.visited_entries += (sc.forward[s] + sc.backward[s]) * (ns * (ns + 1) / 2 + nb * ns);
  }
  return sc;
}

template <class LocalRow>
void MultifrontalCholesky::sweeps(Eigen::Ref<RowMatrix> x, const char* forward, const char* backward,
                                  LocalRow local) const {
  const int ns_total = supernodes();
  RowMatrix tmp(max_rows_below_, x.cols());
  auto l11 = [&](int s, int ns, int m) {  // Eigen's in-place triangular solves want a mutable map
    return DenseMap(const_cast<double*>(values_.data()) + value_begin_[s], ns, ns, Eigen::OuterStride<>(m));
  };
  auto l21 = [&](int s, int ns, int nb, int m) {
    return ConstDenseMap(values_.data() + value_begin_[s] + ns, nb, ns, Eigen::OuterStride<>(m));
  };
  // Forward: L y = b, supernode by supernode; each pushes its contribution to the rows below it.
  for (int s = 0; s < ns_total; ++s) {
    if (forward && !forward[s]) continue;  // no right-hand side in its subtree: y is 0 there
    const int first = start_[s], ns = start_[s + 1] - first;
    const int* rows = rows_.data() + row_begin_[s];
    const int nb = row_begin_[s + 1] - row_begin_[s], m = ns + nb;
    auto xs = x.middleRows(local(first), ns);
    l11(s, ns, m).template triangularView<Eigen::Lower>().solveInPlace(xs);
    if (nb == 0) continue;
    auto t = tmp.topRows(nb);
    t.noalias() = l21(s, ns, nb, m) * xs;
    for (int r = 0; r < nb; ++r) x.row(local(rows[r])) -= t.row(r);
  }
  // Backward: L^T x = y, in reverse.
  for (int s = ns_total - 1; s >= 0; --s) {
    if (backward && !backward[s]) continue;  // no wanted row in it or below it
    const int first = start_[s], ns = start_[s + 1] - first;
    const int* rows = rows_.data() + row_begin_[s];
    const int nb = row_begin_[s + 1] - row_begin_[s], m = ns + nb;
    auto xs = x.middleRows(local(first), ns);
    if (nb > 0) {
      auto t = tmp.topRows(nb);
      for (int r = 0; r < nb; ++r) t.row(r) = x.row(local(rows[r]));
      xs.noalias() -= l21(s, ns, nb, m).transpose() * t;
    }
    l11(s, ns, m).template triangularView<Eigen::Lower>().transpose().solveInPlace(xs);
  }
}

void MultifrontalCholesky::solve_in_place(Eigen::Ref<RowMatrix> b) const {
  if (b.rows() != n_) throw SolverError(fmt::format("MultifrontalCholesky::solve: {} rows, need {}", b.rows(), n_));
  sweeps(b, nullptr, nullptr, [](int row) { return row; });
}

void MultifrontalCholesky::solve_in_place(Eigen::Ref<RowMatrix> x, const SolveScope& sc) const {
  if (static_cast<int>(sc.forward.size()) != supernodes() || static_cast<int>(sc.local.size()) != n_)
    throw SolverError("MultifrontalCholesky::solve: the scope was made for another factorization");
  if (x.rows() != sc.compact_rows)
    throw SolverError(fmt::format("MultifrontalCholesky::solve: {} rows, the scope has {}", x.rows(), sc.compact_rows));
  sweeps(x, sc.forward.data(), sc.backward.data(), [&](int row) { return sc.local[row]; });
}

}  // namespace xbarkit::circuit
