#include "read_report.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/spice/crossbar_tran.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::cli {

namespace {

nlohmann::ordered_json number_or_null(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }

nlohmann::ordered_json result_json(const transient::ReadResult& r) {
  nlohmann::ordered_json j;
  j["engine"] = r.engine;
  j["read_latency_s"] = number_or_null(r.read_latency_s);
  j["read_energy_J"] = r.read_energy_J;
  j["settled"] = r.all_settled();
  j["settle_fraction"] = r.settle_fraction;
  j["window_s"] = r.window_s;
  j["elapsed_s"] = r.elapsed_s;
  j["steps"] = r.steps;
  auto cols = nlohmann::ordered_json::array();
  for (size_t c = 0; c < r.settle_s.size(); ++c)
    cols.push_back({{"col", c}, {"settle_s", number_or_null(r.settle_s[c])}, {"final_current_A", r.final_current_A[c]},
                    {"end_current_A", r.end_current_A[c]}});
  j["columns"] = cols;
  nlohmann::ordered_json src, groups;
  std::map<std::string, double> g;
  for (const auto& s : r.sources) {
    src[s.name] = s.energy_J;
    g[s.group] += s.energy_J;
  }
  for (const auto& [name, e] : g) groups[name] = e;
  j["source_energy_J"] = src;
  j["group_energy_J"] = groups;
  if (!r.all_settled()) j["unsettled"] = r.unsettled_report();
  return j;
}

}  // namespace

ReadReport read_recipe(const netlist::CrossbarRecipe& recipe, const std::string& engine, const transient::ReadOptions& opt,
                       const std::string& deck_out) {
  const auto& x = recipe.crossbar;
  transient::require_read_transient(x);
  ReadReport rep;
  rep.engine = engine;
  rep.recipe = recipe.file.string();
  rep.rows = x.rows;
  rep.cols = x.cols;
  rep.cell = std::string(x.cell_name());
  transient::ReadOptions o = opt;
  if (!(o.window_s > 0)) o.window_s = transient::auto_window(x);
  if (!deck_out.empty())
    write_file_atomic(deck_out, spice::tran_deck(x, o.window_s, o.window_s / std::max(o.output_points, 10)));
  if (engine != "ngspice") rep.native = transient::read_native(x, o);
  if (engine != "native") {
    spice::Session session;
    rep.ngspice = transient::read_ngspice(session, x, o);
  }
  return rep;
}

nlohmann::ordered_json to_json(const ReadReport& rep) {
  const auto& main = rep.native ? *rep.native : *rep.ngspice;
  nlohmann::ordered_json j;
  j["analysis"] = "read";
  j["engine"] = rep.engine;
  j["recipe"] = rep.recipe;
  j["cell"] = rep.cell;
  j["rows"] = rep.rows;
  j["cols"] = rep.cols;
  const auto main_json = result_json(main);
  for (const auto& [k, v] : main_json.items()) j[k] = v;
  if (rep.native && rep.ngspice) {
    j["ngspice"] = result_json(*rep.ngspice);
    auto rel = [](double a, double b) { return std::isfinite(a) && std::isfinite(b) && b != 0 ? std::abs(a - b) / std::abs(b) : NAN; };
    j["rel_diff"] = {{"read_latency", number_or_null(rel(rep.native->read_latency_s, rep.ngspice->read_latency_s))},
                     {"read_energy", number_or_null(rel(rep.native->read_energy_J, rep.ngspice->read_energy_J))}};
    j["speedup"] = rep.ngspice->elapsed_s / std::max(rep.native->elapsed_s, 1e-12);
  }
  return j;
}

void print_report(std::ostream& out, const ReadReport& rep) {
  out << fmt::format("read transient: {} {}x{} ({}), engine {}\n", rep.cell, rep.rows, rep.cols, rep.recipe, rep.engine);
  for (const auto* r : {rep.native ? &*rep.native : nullptr, rep.ngspice ? &*rep.ngspice : nullptr}) {
    if (!r) continue;
    out << fmt::format("  [{}] window {:.4g} s, {} steps, {:.3g} s\n", r->engine, r->window_s, r->steps, r->elapsed_s);
    if (r->all_settled())
      out << fmt::format("  read latency {:.5g} s (slowest column, {:g}% band)\n", r->read_latency_s, 100 * r->settle_fraction);
    else
      for (const auto& line : r->unsettled_report()) out << "  NOT SETTLED: " << line << "\n";
    out << fmt::format("  read energy {:.5g} J\n", r->read_energy_J);
    std::map<std::string, double> g;
    for (const auto& s : r->sources) g[s.group] += s.energy_J;
    for (const auto& [name, e] : g) out << fmt::format("    {:<18} {:.5g} J\n", name, e);
  }
  if (rep.native && rep.ngspice) {
    const auto& a = *rep.native;
    const auto& b = *rep.ngspice;
    out << fmt::format("  native vs ngspice: latency {:.3g}%, energy {:.3g}%; speedup {:.1f}x\n",
                       100 * std::abs(a.read_latency_s - b.read_latency_s) / b.read_latency_s,
                       100 * std::abs(a.read_energy_J - b.read_energy_J) / b.read_energy_J, b.elapsed_s / a.elapsed_s);
  }
}

}  // namespace xbarkit::cli
