// Passive 1xN and Nx1 arrays with wire resistance against the exact ladder solution.
#include <catch2/catch.hpp>

#include <vector>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/spice/crossbar_op.hpp"

using namespace xbarkit;
using namespace xbarkit::netlist;

namespace {

Crossbar passive(int rows, int cols, double r_wl, double r_bl) {
  auto x = make_crossbar(load_technology("7nm"), "passive", rows, cols);
  x.parasitics = {r_bl, 0.0, r_wl};
  x.v_read_V = 0.2;
  for (int i = 0; i < rows; ++i) x.inputs[i] = 1;
  for (size_t k = 0; k < x.weights.size(); ++k) x.weights[k] = (k * 7 + 3) % 5 < 3;  // mixed LRS/HRS
  return x;
}

double cell_r(const Crossbar& x, int i, int j) { return x.weight(i, j) ? x.params.number("r_lrs_ohm") : x.params.number("r_hrs_ohm"); }

// 1xN: one row driven at V through r_wl per segment; column j is a shunt R_cell + r_bl to 0 V.
// Exact solution of the ladder: input impedances from the far end, then currents forwards.
std::vector<double> one_row(const Crossbar& x) {
  const int n = x.cols;
  const long double rw = x.parasitics.r_wordline_ohm, rb = x.parasitics.r_bitline_ohm;
  std::vector<long double> z(n);  // impedance seen at row node k looking right (incl. its shunt)
  for (int k = n - 1; k >= 0; --k) {
    const long double shunt = 1.0L / (cell_r(x, 0, k) + rb);
    z[k] = 1.0L / (shunt + (k + 1 < n ? 1.0L / (rw + z[k + 1]) : 0.0L));
  }
  std::vector<double> current(n);
  long double v_prev = x.v_read_V, i_in = x.v_read_V / (rw + z[0]);
  for (int k = 0; k < n; ++k) {
    const long double v = v_prev - i_in * rw;
    current[k] = static_cast<double>(v / (cell_r(x, 0, k) + rb));
    i_in -= v / (cell_r(x, 0, k) + rb);
    v_prev = v;
  }
  return current;
}

// Nx1: each row a source V_i behind r_wl + R_cell into the column tap; the column runs down with
// r_bl per segment to the sense node at 0 V. Thevenin reduction from the top of the column.
double one_column(const Crossbar& x) {
  const long double rb = x.parasitics.r_bitline_ohm, rw = x.parasitics.r_wordline_ohm;
  long double vth = 0, gth = 0;  // Thevenin source and conductance at the current tap
  for (int i = 0; i < x.rows; ++i) {
    if (i > 0) gth = gth > 0 ? 1.0L / (1.0L / gth + rb) : 0.0L;  // down one segment
    const long double g = 1.0L / (rw + cell_r(x, i, 0));
    const long double v = x.input(i) ? x.v_read_V : 0.0;
    vth = (vth * gth + v * g) / (gth + g);
    gth += g;
  }
  return static_cast<double>(vth / (1.0L / gth + rb));
}

}  // namespace

// ngspice solves a linear network by LU to round-off once Newton has taken its second step, so the
// agreement is limited by double precision in the 1e-12 range; 1e-9 is the requirement.
TEST_CASE("1xN passive array matches the exact ladder solution to 1e-9", "[spice][ladder]") {
  spice::Session s;
  for (double r : {0.0, 2.5, 50.0}) {
    const auto x = passive(1, 24, r, r);
    const auto expect = one_row(x);
    const auto got = spice::solve_crossbar(s, x).column_current_A;
    for (int j = 0; j < x.cols; ++j) CHECK(got[j] == Approx(expect[j]).epsilon(1e-9));
  }
}

TEST_CASE("Nx1 passive array matches the exact ladder solution to 1e-9", "[spice][ladder]") {
  spice::Session s;
  for (double r : {0.0, 2.5, 50.0}) {
    auto x = passive(24, 1, r, r);
    x.inputs[3] = x.inputs[10] = 0;  // inactive rows are driven at 0 V and sink current
    const auto got = spice::solve_crossbar(s, x).column_current_A;
    CHECK(got[0] == Approx(one_column(x)).epsilon(1e-9));
  }
}
