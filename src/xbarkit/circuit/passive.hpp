#pragma once
// Coupled 2-D nodal solver for passive arrays (rows carry current, so columns couple).
//
// Unknowns: the row-line node and the column-line node of every cell (2*rows*cols), minus nodes an
// ideal wire merges into a fixed voltage (row drivers, the 0 V sense nodes). With linear cells the
// nodal matrix is symmetric positive definite and does not depend on the inputs: the inputs only
// drive the right-hand side. PassiveNetwork factorizes it once (multifrontal Cholesky,
// multifrontal.hpp) and then solves any number of input vectors, one at a time or as a block; for
// column currents alone only the fronts between the driven and the sensed nodes are visited.
//
// Ordering: the network is a grid. Cutting it along column m needs only column m's row-line nodes as
// separator (column m's column-line nodes then touch only the separator and each other, so they join
// one side and are cut further there); cutting along row m needs only row m's column-line nodes.
// Recursive bisection with these separators is a nested-dissection ordering built from the geometry
// (no graph partitioner); each separator and each small leaf domain is one dense front. Eigen's AMD
// (SimplicialLLT) and COLAMD (SparseLU) are the general-purpose baselines.
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::circuit {

// nested_dissection: the geometric ordering with the multifrontal factorization (multifrontal.hpp);
// the others are baselines: the same ordering with Eigen's column-by-column SimplicialLLT, Eigen's
// SimplicialLLT with AMD, and Eigen's SparseLU with COLAMD (general-purpose, unsymmetric).
enum class PassiveOrdering { nested_dissection, nested_dissection_simplicial, amd, colamd_lu };

struct PassiveOptions {
  double reltol = 1e-10;
  int max_newton_iterations = 100;
  PassiveOrdering ordering = PassiveOrdering::nested_dissection;
};

class PassiveNetwork {
public:
  // Builds and factorizes the nodal matrix of a passive array with resistor cells (the crossbar's
  // weights and wires; its inputs are not used). Throws SolverError for a singular network.
  explicit PassiveNetwork(const netlist::Crossbar& xbar, PassiveOrdering ordering = PassiveOrdering::nested_dissection);
  ~PassiveNetwork();
  PassiveNetwork(PassiveNetwork&&) noexcept;
  PassiveNetwork& operator=(PassiveNetwork&&) noexcept;

  // Row driver voltages (rows x k, one input vector per column) -> column currents (cols x k).
  Eigen::MatrixXd column_currents(const Eigen::MatrixXd& drive_V) const;
  // One 0/1 input vector driven at the crossbar's v_read.
  std::vector<double> column_currents(const std::vector<uint8_t>& inputs) const;
  // Full solution with node voltages for one input vector.
  CrossbarSolution solve(const std::vector<uint8_t>& inputs, bool node_voltages) const;

  int unknowns() const;
  long factor_nonzeros() const;     // nonzeros of the Cholesky factor (or L+U for SparseLU)
  double analyze_s() const;         // symbolic analysis time (thread CPU time)
  double factorize_s() const;       // numeric factorization time (thread CPU time)

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// Solves a passive array (resistor cells: one linear solve; ReRAM cells: Newton).
CrossbarSolution solve_passive(const netlist::Crossbar& xbar, const PassiveOptions& opt, bool node_voltages);

}  // namespace xbarkit::circuit
