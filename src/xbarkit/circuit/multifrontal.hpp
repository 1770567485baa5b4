#pragma once
// Supernodal multifrontal Cholesky factorization A = L L^T of a sparse symmetric positive definite
// matrix whose elimination order and supernode partition are chosen by the caller.
//
// Why not Eigen's SimplicialLLT: it factorizes column by column with scalar sparse updates, about
// 0.5 Gflop/s on the crossbar's grid-like networks. Here every supernode (a separator of a nested
// dissection, or a small leaf domain) is one dense frontal matrix; its elimination is a dense
// Cholesky, a triangular solve and a symmetric rank-k update (Eigen's blocked kernels), and the
// update passes to the parent front by an extend-add (Duff & Reid 1983; Liu 1992, "The multifrontal
// method for sparse matrix solution: theory and practice", SIAM Review 34). With a good nested
// dissection the flops concentrate in the largest fronts, where the dense kernels are efficient.
//
// The caller's order must put every supernode after the supernodes whose updates it receives
// (true for any nested-dissection order: subdomains first, then their separator). The assembly
// tree is derived from the matrix structure, not trusted from the caller.
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "xbarkit/core/huge_buffer.hpp"

namespace xbarkit::circuit {

class MultifrontalCholesky {
public:
  using SparseLower = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;

  MultifrontalCholesky() = default;
  // Symbolic analysis. `lower`: the lower triangle (row >= column) of the matrix, already in
  // elimination order; only its pattern is used. `supernode_start`: increasing, from 0 to n:
  // supernode s holds columns [start[s], start[s+1]).
  MultifrontalCholesky(const SparseLower& lower, std::vector<int> supernode_start);

  // Numeric factorization of a matrix with the analysed pattern (entries outside it are an error).
  // Returns -1 on success, or the first column whose pivot is not positive (the matrix is singular
  // or indefinite), in elimination order.
  int factorize(const SparseLower& lower);

  // Right-hand sides / solutions one per column, stored row-major: the solves gather and scatter
  // front rows, which are then contiguous across all right-hand sides.
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // Solves A X = B in place; B's rows are in elimination order.
  void solve_in_place(Eigen::Ref<RowMatrix> b) const;

  // A solve restricted to right-hand sides that are nonzero only in `rhs_rows` and to the solution's
  // `wanted_rows` (elimination order). A crossbar's inputs enter at one edge and its outputs leave at
  // another, so most fronts can be skipped: the forward sweep visits the supernodes of rhs_rows and
  // their ancestors (Gilbert & Peierls' reach of a sparse right-hand side, on the assembly tree),
  // the backward sweep those of wanted_rows and their ancestors. It works on the compact vector of
  // the visited supernodes' rows only: `local[row]` (-1 when not visited).
  struct SolveScope {
    std::vector<char> forward, backward;  // per supernode
    std::vector<int> local;               // global row -> compact row, -1 outside the visited supernodes
    int compact_rows = 0;
    long visited_entries = 0;             // factor entries read by the two sweeps (a full solve: 2 x factor_entries())
  };
  SolveScope scope(const std::vector<int>& rhs_rows, const std::vector<int>& wanted_rows) const;
  // `x`: scope.compact_rows rows, zero except the right-hand sides at local[rhs_rows]; on return its
  // rows local[wanted_rows] hold the solution (the others are unspecified).
  void solve_in_place(Eigen::Ref<RowMatrix> x, const SolveScope& scope) const;

  int size() const { return n_; }
  int supernodes() const { return static_cast<int>(start_.size()) - 1; }
  long factor_entries() const { return factor_entries_; }  // stored entries of L (lower parts of the fronts)
  double flops() const { return flops_; }                  // multiply-adds x 2 of one factorization
  int largest_front() const { return largest_front_; }
  bool postordered() const { return postordered_; }

private:
  template <class LocalRow>
  void sweeps(Eigen::Ref<RowMatrix> x, const char* forward, const char* backward, LocalRow local) const;

  int n_ = 0;
  std::vector<int> start_;          // supernode column ranges
  std::vector<int> parent_;         // assembly tree (-1: a root)
  std::vector<int> row_begin_;      // rows_[row_begin_[s] .. row_begin_[s+1]): front rows below the supernode
  std::vector<int> rows_;
  std::vector<long> value_begin_;   // L storage of supernode s: (ns + nb) x ns, column-major
  HugeBuffer values_;
  // Update matrices wait for their parent front. When the order is a post-order of the assembly
  // tree (nested dissection's is) they live on one stack, allocated once here; otherwise each gets
  // its own buffer.
  bool postordered_ = false;
  HugeBuffer stack_;                // update-matrix stack (nb x nb each, lower triangles used)
  HugeBuffer work_;                 // the current front's update block, nb x nb
  long factor_entries_ = 0;
  double flops_ = 0;
  int largest_front_ = 0;
  int max_rows_below_ = 0;          // largest nb
};

}  // namespace xbarkit::circuit
