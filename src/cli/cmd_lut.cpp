// xbarkit lut check BUNDLE [--json] : verify a LUT bundle (schema, hashes) and reprint its evidence.
// xbarkit lut show BUNDLE [--json]  : summarize its provenance, tables, axes and value ranges.
#include <cmath>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/bundle.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_lut {
namespace {

using nlohmann::json;

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "n/a"; }

json check_report(const xbarkit::lut::Bundle& b, const std::string& table) {
  json j;
  j["bundle"] = b.dir.string();
  j["ok"] = true;
  j["kind"] = b.kind;
  j["schema_version"] = xbarkit::lut::kSchemaVersion;
  j["tables"] = b.tables.size();
  j["files_verified"] = b.tables.size() + b.files.size();
  j["failures"] = json::array();
  for (const auto& f : b.failures) j["failures"].push_back({{"point", f.point}, {"error", f.error}});
  j["validation"] = b.validation;
  for (const char* key : {"nrmse_mean", "coverage_2sigma", "spice_nrmse_mean", "spice_coverage_2sigma"})
    if (b.validation.contains(key)) j[key] = b.validation[key];
  if (!table.empty()) {
    // The evidence of one configuration at the top level instead of the worst one.
    bool found = false;
    for (const auto& c : b.validation.value("configs", json::array())) {
      if (c.value("table", "") != table || !c.contains("held_out")) continue;
      found = true;
      j["table"] = table;
      j["nrmse_mean"] = c["held_out"]["nrmse_mean"];
      j["coverage_2sigma"] = c["held_out"]["coverage_2sigma"];
      j.erase("spice_nrmse_mean");
      j.erase("spice_coverage_2sigma");
      if (c.contains("spice")) {
        j["spice_nrmse_mean"] = c["spice"]["nrmse_mean"];
        j["spice_coverage_2sigma"] = c["spice"]["coverage_2sigma"];
      }
    }
    if (!found) throw xbarkit::Error(fmt::format("bundle {} records no validation for table '{}'", b.dir.string(), table));
  }
  j["recipe_sha256"] = b.provenance.value("recipe_sha256", "");
  j["date"] = b.provenance.value("date", "");
  return j;
}

void print_check(const json& r) {
  std::cout << fmt::format("{}: OK ({} bundle, schema {}, {} files verified against their SHA-256)\n",
                           r["bundle"].get<std::string>(), r["kind"].get<std::string>(), r["schema_version"].get<int>(),
                           r["files_verified"].get<size_t>());
  const auto& v = r["validation"];
  if (v.contains("configs")) {
    std::cout << fmt::format("{:<24} {:>6} {:>10} {:>12} {:>10} {:>10} {:>12} {:>10}\n", "table", "rows", "wire x",
                             "FS (uA)", "NRMSE %FS", "cov 2sig", "ideal %FS", "spice cov");
    for (const auto& c : v["configs"]) {
      if (!c.contains("held_out")) {
        std::cout << fmt::format("{:<24} {}\n", c.value("table", "?"), c.value("error", ""));
        continue;
      }
      const auto& h = c["held_out"];
      std::string sp = "-";
      if (c.contains("spice")) sp = fmt::format("{:.3f}", c["spice"]["coverage_2sigma"].get<double>());
      std::cout << fmt::format("{:<24} {:>6} {:>10} {:>12.3f} {:>10.3f} {:>10.3f} {:>12.2f} {:>10}\n",
                               c["table"].get<std::string>(), c["rows"].get<int>(), num(c["wire_scale"].get<double>()),
                               c["full_scale_A"].get<double>() * 1e6, 100 * h["nrmse_mean"].get<double>(),
                               h["coverage_2sigma"].get<double>(), 100 * h["ideal_nrmse"].get<double>(), sp);
    }
    std::cout << fmt::format("worst: nrmse_mean {:.4f} of full scale, coverage_2sigma {:.3f}\n",
                             v["nrmse_mean"].get<double>(), v["coverage_2sigma"].get<double>());
    for (const auto& c : v["configs"])
      if (c.contains("spice"))
        std::cout << fmt::format("ngspice check {}: {} patterns, LUT nrmse {:.4f} FS, coverage_2sigma {:.3f}; native vs "
                                 "ngspice max |diff| {:.2e} FS\n",
                                 c["table"].get<std::string>(), c["spice"]["patterns"].get<size_t>(),
                                 c["spice"]["nrmse_mean"].get<double>(), c["spice"]["coverage_2sigma"].get<double>(),
                                 c["spice"]["native_vs_ngspice_max_abs_fs"].get<double>());
  } else if (!v.empty()) {
    for (const auto& [k, val] : v.items()) std::cout << fmt::format("{}: {}\n", k, val.dump());
  } else {
    std::cout << "no built-in validation recorded for this kind\n";
  }
  const auto& f = r["failures"];
  if (f.empty()) std::cout << "failed points: none\n";
  else {
    std::cout << fmt::format("failed points: {}\n", f.size());
    for (const auto& e : f) std::cout << fmt::format("  {}: {}\n", e["point"].get<std::string>(), e["error"].get<std::string>());
  }
}

json show_report(const xbarkit::lut::Bundle& b) {
  json j;
  j["bundle"] = b.dir.string();
  j["kind"] = b.kind;
  json prov = b.provenance;
  prov.erase("recipe_text");
  j["provenance"] = prov;
  j["tables"] = json::array();
  for (const auto& t : b.tables) {
    json tj{{"name", t.name()}, {"nodes", t.node_count()}, {"attributes", t.attributes}};
    for (const auto& a : t.axes())
      tj["axes"].push_back({{"name", a.name}, {"unit", a.unit}, {"points", a.points.size()}, {"min", a.points.front()},
                            {"max", a.points.back()}});
    for (size_t c = 0; c < t.columns().size(); ++c) {
      double lo = INFINITY, hi = -INFINITY;
      size_t missing = 0;
      for (size_t n = 0; n < t.node_count(); ++n) {
        const double v = t.value(n, c);
        if (!std::isfinite(v)) {
          ++missing;
          continue;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      tj["columns"].push_back({{"name", t.columns()[c].name}, {"unit", t.columns()[c].unit},
                               {"min", std::isfinite(lo) ? json(lo) : json(nullptr)},
                               {"max", std::isfinite(hi) ? json(hi) : json(nullptr)}, {"missing", missing}});
    }
    j["tables"].push_back(tj);
  }
  j["fits"] = json::array();
  for (const auto& f : b.fits) {
    auto fj = f.fit.to_json();
    fj["name"] = f.name;
    if (!f.attributes.empty()) fj["attributes"] = f.attributes;  // e.g. cbram_psw's tau0_s, v0_V
    j["fits"].push_back(fj);
  }
  j["failures"] = b.failures.size();
  return j;
}

void print_show(const json& r) {
  const auto& p = r["provenance"];
  std::cout << fmt::format("{}: {} bundle\n", r["bundle"].get<std::string>(), r["kind"].get<std::string>());
  std::cout << fmt::format("  recipe {} (sha256 {}), seed {}, xbarkit {}, {}\n", p.value("recipe_file", "?"),
                           p.value("recipe_sha256", "?").substr(0, 12), p.value("seed", json()).dump(),
                           p.value("xbarkit_version", "?"), p.value("date", "?"));
  std::cout << fmt::format("  engine: {}\n", p.value("engine", "?"));
  for (const auto& m : p.value("model_files", json::array()))
    std::cout << fmt::format("  model {} (sha256 {})\n", m["file"].get<std::string>(), m["sha256"].get<std::string>().substr(0, 12));
  for (const auto& t : r["tables"]) {
    std::cout << fmt::format("table {} ({} nodes)\n", t["name"].get<std::string>(), t["nodes"].get<size_t>());
    for (const auto& a : t["axes"])
      std::cout << fmt::format("  axis {:<12} [{}] {} points, {} .. {}\n", a["name"].get<std::string>(),
                               a["unit"].get<std::string>(), a["points"].get<size_t>(), num(a["min"].get<double>()),
                               num(a["max"].get<double>()));
    for (const auto& c : t["columns"])
      std::cout << fmt::format("  column {:<10} [{}] {} .. {}{}\n", c["name"].get<std::string>(),
                               c["unit"].get<std::string>(), c["min"].is_null() ? "n/a" : num(c["min"].get<double>()),
                               c["max"].is_null() ? "n/a" : num(c["max"].get<double>()),
                               c["missing"].get<size_t>() ? fmt::format(" ({} nodes without data)", c["missing"].get<size_t>()) : "");
  }
  for (const auto& f : r["fits"]) {
    std::cout << fmt::format("fit {} ({}): {}, rms residual {}, R^2 {}\n", f["name"].get<std::string>(),
                             f["kind"].get<std::string>(), f["params"].dump(), num(f["rms_residual"].get<double>()),
                             num(f["r_squared"].get<double>()));
    if (f.contains("attributes"))
      std::cout << fmt::format("  attributes: {}\n", f["attributes"].dump());
  }
  std::cout << fmt::format("failed points: {}\n", r["failures"].get<size_t>());
}

struct Options {
  std::string bundle;
  bool json = false;
  std::string table;
};

const xbarkit::cli::Register reg("lut", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("lut", "Inspect LUT bundles written by 'xbarkit characterize'");
  cmd->require_subcommand(1);
  auto check = std::make_shared<Options>();
  auto* c = cmd->add_subcommand("check", "Verify a bundle (schema version, SHA-256 of every file) and reprint its "
                                         "validation evidence; exit 1 if the bundle is damaged");
  c->add_option("bundle", check->bundle, "Bundle directory")->required();
  c->add_flag("--json", check->json,
              "One JSON object: ok, kind, nrmse_mean and coverage_2sigma (fractions; the worst configuration unless "
              "--table), validation, failures");
  c->add_option("--table", check->table, "array_ps: report this configuration's evidence at the top level (e.g. "
                                         "sram8t_r128_w1)");
  c->callback([check] {
    xbarkit::lut::Bundle b;
    try {
      b = xbarkit::lut::load_bundle(check->bundle);
    } catch (const xbarkit::Error& e) {
      if (check->json) std::cout << json{{"bundle", check->bundle}, {"ok", false}, {"error", e.what()}}.dump(2) << "\n";
      throw;
    }
    const auto r = check_report(b, check->table);
    if (check->json) std::cout << r.dump(2) << "\n";
    else print_check(r);
  });
  auto show = std::make_shared<Options>();
  auto* s = cmd->add_subcommand("show", "Summarize a bundle: provenance, tables with their axes, units and ranges, fits");
  s->add_option("bundle", show->bundle, "Bundle directory")->required();
  s->add_flag("--json", show->json, "Print the summary as JSON");
  s->callback([show] {
    const auto r = show_report(xbarkit::lut::load_bundle(show->bundle));
    if (show->json) std::cout << r.dump(2) << "\n";
    else print_show(r);
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_lut
