// xbarkit characterize RECIPE -o BUNDLE [--resume | --force] [--shard I/N | --merge] : run a
// characterization recipe into a LUT bundle (characterize/runner.hpp, characterize/shard.hpp).
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "progress_cli.hpp"
#include "registry.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/lut/bundle.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_characterize {
namespace {

struct Options {
  std::string recipe;
  xbarkit::characterize::RunOptions run;
  std::string output;
  std::string shard;
  bool merge = false, json = false;
  double job_timeout_s = 0;
};

const xbarkit::cli::Register reg("characterize", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "characterize",
      "Run a characterization recipe (characterization/*.toml: array_ps, adc, ...) into a LUT bundle directory");
  cmd->add_option("recipe", opt->recipe, "Characterization recipe (TOML), e.g. characterization/array_ps_7nm.toml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "Bundle directory to write (lut.json + tables/*.csv); also holds the "
                                              "journal while the sweep runs")
      ->required();
  auto* resume = cmd->add_flag("--resume", opt->run.resume,
                               "Continue an interrupted run from BUNDLE/journal.jsonl (same recipe file required)");
  cmd->add_flag("--force", opt->run.force, "Discard an existing bundle or journal at BUNDLE and start over")
      ->excludes(resume);
  cmd->add_option("--threads", opt->run.threads, "Worker threads / ngspice processes (default: the recipe's, 0 = all "
                                                 "cores)");
  auto* shard = cmd->add_option("--shard", opt->shard,
                                "Compute only shard I of N (points with index mod N == I, 0 <= I < N) into "
                                "BUNDLE/shards/; default inside a Slurm job array: SLURM_ARRAY_TASK_ID/"
                                "SLURM_ARRAY_TASK_COUNT. A re-run shard continues its own journal");
  cmd->add_flag("--merge", opt->merge,
                "Merge the shard journals in BUNDLE/shards into the bundle (checks the recipe hash, lists "
                "missing or failed points)")
      ->excludes(shard)
      ->excludes(resume);
  cmd->add_option("--job-timeout", opt->job_timeout_s,
                  "Seconds one SPICE point may run before its ngspice worker is killed and the point fails "
                  "(default: the recipe's characterize.job_timeout_s, 7200)")
      ->check(CLI::Range(1e-3, 2592000.0));
  xbarkit::cli::add_progress_options(cmd, opt->run.progress);
  cmd->add_flag("--json", opt->json,
                "Print one JSON summary on stdout (bundle, points, computed, reused, failed, failed_ids, seconds, "
                "held-out validation); messages go to stderr");
  cmd->callback([opt] {
    using nlohmann::json;
    opt->run.output = opt->output;
    const auto summary_json = [&](const xbarkit::characterize::RunSummary& s, const char* mode) {
      return json{{"mode", mode},          {"recipe", opt->recipe},   {"bundle", opt->output},
                  {"points", s.points},    {"computed", s.computed},  {"reused", s.reused},
                  {"failed", s.failed},    {"failed_ids", s.failed_ids}, {"seconds", s.elapsed_s}};
    };
    if (opt->job_timeout_s > 0) opt->run.job_timeout_s = opt->job_timeout_s;
    namespace ch = xbarkit::characterize;
    if (!opt->shard.empty()) opt->run.shard = ch::parse_shard(opt->shard, "--shard");
    else if (!opt->merge)
      if (auto env = ch::shard_from_slurm_environment()) opt->run.shard = *env;
    if (opt->merge) {
      const auto s = ch::merge_shards(opt->recipe, opt->run);
      if (opt->json) {
        std::cout << summary_json(s, "merge").dump(2) << "\n";
        return;
      }
      std::cout << fmt::format("wrote {}: merged {} points from the shard journals ({} failed) in {:.1f} s\n",
                               opt->output, s.points, s.failed, s.elapsed_s);
      if (s.failed > 0)
        std::cout << fmt::format("failed points: {}{}\n", fmt::join(s.failed_ids, ", "),
                                 s.failed > s.failed_ids.size() ? ", ..." : "");
      return;
    }
    if (opt->run.shard.enabled) {
      const auto s = ch::run_characterization(opt->recipe, opt->run);
      if (opt->json) {
        auto j = summary_json(s, "shard");
        j["shard"] = opt->run.shard.label();
        j["shard_points"] = s.shard_points;
        std::cout << j.dump(2) << "\n";
        return;
      }
      std::cout << fmt::format("shard {} of {}: {} of {} points ({} computed, {} reused from its journal, {} failed) "
                               "in {:.1f} s; merge with: xbarkit characterize {} -o {} --merge\n",
                               opt->run.shard.label(), opt->output, s.shard_points, s.points, s.computed, s.reused,
                               s.failed, s.elapsed_s, opt->recipe, opt->output);
      if (s.failed > 0)
        std::cout << fmt::format("failed points: {}{}\n", fmt::join(s.failed_ids, ", "),
                                 s.failed > s.failed_ids.size() ? ", ..." : "");
      return;
    }
    const auto s = xbarkit::characterize::run_characterization(opt->recipe, opt->run);
    const auto b = xbarkit::lut::load_bundle(opt->output);
    if (opt->json) {
      auto j = summary_json(s, "run");
      j["kind"] = b.kind;
      j["validation"] = b.validation;
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << fmt::format("wrote {}: {} points ({} computed, {} reused from the journal, {} failed) in {:.1f} s\n",
                             opt->output, s.points, s.computed, s.reused, s.failed, s.elapsed_s);
    if (s.failed > 0)
      std::cout << fmt::format("{} points failed; their errors are listed in {}/lut.json (failures) and by "
                               "'xbarkit lut check {}'\n",
                               s.failed, opt->output, opt->output);
    if (b.validation.contains("nrmse_mean"))
      std::cout << fmt::format("held-out check: nrmse_mean {:.4f} of full scale, coverage_2sigma {:.3f} (worst "
                               "configuration); details: xbarkit lut check {}\n",
                               b.validation["nrmse_mean"].get<double>(), b.validation["coverage_2sigma"].get<double>(),
                               opt->output);
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_characterize
