// MultifrontalCholesky against Eigen's dense LLT on small SPD matrices, for any supernode partition,
// post-ordered or not, full and scoped solves, and the indefinite case.
#include <catch2/catch.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include "xbarkit/circuit/multifrontal.hpp"
#include "xbarkit/core/rng.hpp"

using namespace xbarkit;
using circuit::MultifrontalCholesky;
using SpMat = MultifrontalCholesky::SparseLower;

namespace {

// A k x k grid Laplacian (unit conductances) plus a random conductance to ground at every node:
// SPD, condition number ~ 4 / min(ground) ~ 1e2..1e3, and fill like a crossbar's.
Eigen::MatrixXd grid_matrix(int k, uint64_t seed) {
  Rng rng(seed);
  const int n = k * k;
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  auto link = [&](int p, int q) { a(p, p) += 1, a(q, q) += 1, a(p, q) -= 1, a(q, p) -= 1; };
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      if (i + 1 < k) link(i * k + j, (i + 1) * k + j);
      if (j + 1 < k) link(i * k + j, i * k + j + 1);
      a(i * k + j, i * k + j) += 0.01 + 0.1 * rng.uniform();
    }
  return a;
}

SpMat lower_of(const Eigen::MatrixXd& a) {
  const SpMat full = a.sparseView();
  return full.triangularView<Eigen::Lower>();
}

// Worst relative error of the multifrontal solve of `a` with the given partition, vs dense LLT.
double solve_error(const Eigen::MatrixXd& a, const std::vector<int>& starts, bool* postordered = nullptr) {
  MultifrontalCholesky chol(lower_of(a), starts);
  REQUIRE(chol.factorize(lower_of(a)) == -1);
  if (postordered) *postordered = chol.postordered();
  Rng rng(3);
  Eigen::MatrixXd b(a.rows(), 3);
  for (int i = 0; i < b.size(); ++i) b.data()[i] = rng.uniform() - 0.5;
  const Eigen::MatrixXd ref = a.llt().solve(b);
  MultifrontalCholesky::RowMatrix x = b;
  chol.solve_in_place(x);
  return (x - ref).cwiseAbs().maxCoeff() / ref.cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("multifrontal Cholesky equals dense LLT for any supernode partition", "[circuit]") {
  const auto a = grid_matrix(9, 1);
  const int n = static_cast<int>(a.rows());
  // Tolerance: both are backward-stable Cholesky solves; cond(a) <= ~1e3, so the solutions agree to
  // ~1e3 x 1e-16; 1e-11 leaves two decades of room.
  std::vector<int> each(n + 1);
  for (int i = 0; i <= n; ++i) each[i] = i;
  CHECK(solve_error(a, each) < 1e-11);  // one column per supernode (a simplicial factorization)
  CHECK(solve_error(a, {0, n}) < 1e-11);  // one dense front
  Rng rng(5);
  for (int trial = 0; trial < 5; ++trial) {  // random contiguous partitions
    std::vector<int> starts{0};
    while (starts.back() < n) starts.push_back(std::min(n, starts.back() + 1 + static_cast<int>(rng.uniform() * 12)));
    CHECK(solve_error(a, starts) < 1e-11);
  }
}

TEST_CASE("multifrontal Cholesky handles an order that is not a post-order", "[circuit]") {
  // Nodes 0..3 with links 0-2, 1-3, 2-3: the tree is 0 -> 2 -> 3 <- 1, and the order 0, 1, 2, 3 puts
  // 1's update on top of 0's when 2 needs 0's (not a post-order: the update stack cannot be used).
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(4, 4) * 0.5;
  auto link = [&](int p, int q) { a(p, p) += 1, a(q, q) += 1, a(p, q) -= 1, a(q, p) -= 1; };
  link(0, 2), link(1, 3), link(2, 3);
  bool postordered = true;
  CHECK(solve_error(a, {0, 1, 2, 3, 4}, &postordered) < 1e-13);  // cond ~ 10: rounding only
  CHECK_FALSE(postordered);
  // The same matrix in a post-order (1, 0, 2, 3 -> swap rows 0 and 1) uses the stack.
  Eigen::PermutationMatrix<4> p;
  p.indices() << 1, 0, 2, 3;
  const Eigen::MatrixXd b = p * a * p.transpose();
  CHECK(solve_error(b, {0, 1, 2, 3, 4}, &postordered) < 1e-13);
  CHECK(postordered);
  // A randomly permuted grid, one column per supernode: not a post-order, and later fronts larger
  // than earlier ones (the per-update buffers and the workspace must be sized for all of them).
  const auto g = grid_matrix(8, 4);
  Eigen::PermutationMatrix<Eigen::Dynamic> q(g.rows());
  q.setIdentity();
  Rng rng(9);
  shuffle(q.indices().data(), q.indices().data() + q.indices().size(), rng);
  std::vector<int> each(g.rows() + 1);
  for (int i = 0; i <= g.rows(); ++i) each[i] = i;
  CHECK(solve_error(q * g * q.transpose(), each, &postordered) < 1e-11);  // as in the test above
  CHECK_FALSE(postordered);
}

TEST_CASE("multifrontal scoped solve equals the full solve on the wanted rows", "[circuit]") {
  const auto a = grid_matrix(10, 2);
  const int n = static_cast<int>(a.rows());
  // A nested-dissection-like partition is not needed for correctness; use blocks of 7.
  std::vector<int> starts{0};
  while (starts.back() < n) starts.push_back(std::min(n, starts.back() + 7));
  MultifrontalCholesky chol(lower_of(a), starts);
  REQUIRE(chol.factorize(lower_of(a)) == -1);
  const std::vector<int> rhs_rows{3, 4, 40}, wanted{0, 55, 99};
  const auto scope = chol.scope(rhs_rows, wanted);
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n, 2);
  b(3, 0) = 1, b(4, 1) = -2, b(40, 0) = 0.5;
  const Eigen::MatrixXd ref = a.llt().solve(b);
  MultifrontalCholesky::RowMatrix x = MultifrontalCholesky::RowMatrix::Zero(scope.compact_rows, 2);
  for (int r : rhs_rows) x.row(scope.local[r]) = b.row(r);
  chol.solve_in_place(x, scope);
  for (int r : wanted) {
    REQUIRE(scope.local[r] >= 0);
    CHECK((x.row(scope.local[r]) - ref.row(r)).cwiseAbs().maxCoeff() < 1e-11 * ref.cwiseAbs().maxCoeff());
  }
  CHECK(scope.visited_entries <= 2 * chol.factor_entries());
}

TEST_CASE("multifrontal Cholesky reports the column of a non-positive pivot", "[circuit]") {
  auto a = grid_matrix(6, 3);
  a(20, 20) = -1;  // indefinite
  MultifrontalCholesky chol(lower_of(a), {0, 10, 20, 30, 36});
  const int bad = chol.factorize(lower_of(a));
  // Reported as the first column of the failing supernode (which holds column 20).
  CHECK(bad == 20);
  CHECK_THROWS(MultifrontalCholesky(lower_of(a), {0, 10, 10, 36}));  // empty supernode: bad partition
}
