#include <chrono>

#include <fmt/format.h>

#include "xbarkit/spice/crossbar_tran.hpp"
#include "xbarkit/transient/read.hpp"

namespace xbarkit::transient {

ReadResult read_ngspice(spice::Session& session, const netlist::Crossbar& x, const ReadOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  require_read_transient(x);
  const double window = opt.window_s > 0 ? opt.window_s : auto_window(x);
  const auto tr = spice::run_crossbar_tran(session, x, window, window / std::max(opt.output_points, 10), opt.ngspice_reltol,
                                           opt.ngspice_mvs_auxiliary_nodes);
  std::vector<Wave> columns, sources;
  for (int j = 0; j < x.cols; ++j) columns.push_back({fmt::format("column{}", j), tr.t, tr.sense_A[static_cast<size_t>(j)]});
  for (const auto& [name, p] : tr.source_power_W) sources.push_back({name, tr.t, p});
  auto r = summarize_read(x, "ngspice", window, opt.settle_fraction, std::move(columns), sources);
  r.steps = static_cast<int>(tr.t.size()) - 1;
  r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace xbarkit::transient
