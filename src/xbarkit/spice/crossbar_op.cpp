#include "xbarkit/spice/crossbar_op.hpp"

#include <chrono>

#include "xbarkit/netlist/deck_writer.hpp"

namespace xbarkit::spice {

namespace {
std::vector<std::string> sense_vectors(int cols) {
  std::vector<std::string> v;
  for (int j = 0; j < cols; ++j) v.push_back(netlist::sense_vector_name(j));
  return v;
}
}  // namespace

CrossbarOp solve_crossbar(Session& session, const netlist::Crossbar& xbar) {
  const auto t0 = std::chrono::steady_clock::now();
  session.load(netlist::write_deck(xbar));
  const auto r = session.run_op(sense_vectors(xbar.cols));
  CrossbarOp op;
  for (int j = 0; j < xbar.cols; ++j) op.column_current_A.push_back(r.values.at(netlist::sense_vector_name(j)));
  op.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  op.op_method = r.method;
  return op;
}

SpiceJob crossbar_job(const netlist::Crossbar& xbar) {
  return SpiceJob{netlist::write_deck(xbar), sense_vectors(xbar.cols)};
}

CrossbarOp decode_crossbar_result(const netlist::Crossbar& xbar, const SpiceJobResult& result) {
  if (!result.ok) throw SpiceError(result.error);
  CrossbarOp op;
  for (int j = 0; j < xbar.cols; ++j) op.column_current_A.push_back(result.values.at(netlist::sense_vector_name(j)));
  op.elapsed_s = result.elapsed_s;
  op.op_method = result.op_method;
  return op;
}

}  // namespace xbarkit::spice
