// xbarkit run : the main job on built-in defaults (the README's first command, scripts/run.sh).
//
// The design question in one command (issue 18): which tile height, cell and sensing scheme keep a
// binary CNN within one point of its software accuracy on 7nm crossbars, and at what energy?
//
// 1. Characterize, per cell and wire scale, the partial-sum transfer (array_ps, the base recipe
//    characterization/main_job.toml) and the read energy and latency (array_read,
//    characterization/main_job_read.toml) at the requested tile heights. Each (kind, cell, wire scale,
//    rows) slice is its own recipe, derived from the base and cached under CACHE/ keyed by its text and
//    model files (characterize/cache.hpp), so --quick, the default and --full share the bundles they
//    have in common, and a rerun characterizes nothing.
// 2. Run the shipped bnn_cnn on Fashion-MNIST test images for every cell x wire scale x rows x
//    converter (uncalibrated round(I / I_cell), calibrated) x mapping (XNOR, AND, AND + BinSparX
//    static with the paper's rule, AND + data-aware static flips) and the hardware-aware network
//    bnn_cnn_ir128 (XNOR; sram8t only, with the converter it was trained with, --hw-converter), each through the same
//    imc::evaluate and cost::inference_cost as `xbarkit infer --array-lut A --read-lut B`.
// 3. Image counts: a configuration runs on the first `stages[0]` images and moves on to the next
//    stage's count only while it is not clearly (3 paired standard errors) more than one point below
//    software, so the images go where the one-point question is decided. Every accuracy is reported
//    with its image count and binomial standard error; --images N and --full use one count.
// 4. Name per cell, converter and wire scale the largest tile within one point of software (drop
//    and its paired standard error) and its energy per image; write report.md,
//    report.json and two figures (accuracy over rows x wire scale per mapping, accuracy vs energy).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "figure.hpp"
#include "progress_cli.hpp"
#include "registry.hpp"
#include "xbarkit/characterize/cache.hpp"
#include "xbarkit/core/command_line.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/cost/inference.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/nn/dataset.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_run {
namespace {

namespace fs = std::filesystem;
using xbarkit::imc::Evaluation;
using xbarkit::imc::SimConfig;

struct Options {
  std::string recipe, read_recipe, network, hw_network, cache, report, data;
  std::string hw_converter = "ideal";  // the converter the hardware-aware network was trained with
  std::vector<std::string> cells{"sram8t", "rram1t1r"};
  std::vector<std::string> converters{"ideal", "calibrated"};
  std::vector<int> rows{64, 128, 256};
  std::vector<double> wire_scales{0.5, 1.0, 2.0};
  std::vector<size_t> stages{50, 250, 750};  // chosen for the 6-minute budget (README)
  size_t images = 0;
  size_t calibration_images = 100;
  size_t guard_images = 100;  // BinSparX data-aware: the end-to-end guard's training images (imc::FlipGuard)
  unsigned threads = 0;
  uint64_t seed = 1;
  bool json = false, quick = false, full = false;
  xbarkit::ProgressMode progress = xbarkit::ProgressMode::automatic;
};

// Binomial standard error of an accuracy measured on n images: sqrt(p (1 - p) / n).
double accuracy_stderr(double p, size_t n) { return n ? std::sqrt(p * (1 - p) / double(n)) : 0.0; }

// The accuracy drop against software on the same images, d_i = sw_correct_i - hw_correct_i, and the
// standard error of its mean (paired: images both get right or both get wrong add no variance).
struct Drop {
  double mean = 0, stderr_ = 0;
};
Drop paired_drop(const std::vector<int>& hw, const std::vector<int>& sw, const xbarkit::nn::Dataset& data) {
  const size_t n = hw.size();
  double s = 0, s2 = 0;
  for (size_t i = 0; i < n; ++i) {
    const int y = data.labels[i];
    const double d = double(sw[i] == y) - double(hw[i] == y);
    s += d;
    s2 += d * d;
  }
  Drop r;
  if (n == 0) return r;
  r.mean = s / double(n);
  r.stderr_ = n > 1 ? std::sqrt(std::max(0.0, (s2 / double(n) - r.mean * r.mean)) / double(n - 1)) : 0.0;
  return r;
}

struct Mapping {
  std::string key, name, mapping, binsparx;
  bool hw_network = false;  // the hardware-aware trained network instead of the shipped one
};

const Mapping kMappings[] = {
    {"xnor", "XNOR", "xnor", "none"},
    {"and", "AND", "and", "none"},
    {"and_static", "AND + BinSparX static (paper)", "and", "static"},
    // flips chosen per tile column on training images with the LUT and converter (imc/binsparx.hpp);
    // the same hardware as the paper's static rule
    {"and_static_data", "AND + BinSparX static, data-aware", "and", "static-data"},
    {"hw_net", "hardware-aware net, XNOR", "xnor", "none", true}};

// "adcN" (N = 1..12): the main job's shorthand for an N-bit column ADC characterized per slice and tile
// height (adc_recipe); 0 for every other converter spec.
int adc_shorthand_bits(const std::string& c) {
  if (c.size() < 4 || c.size() > 5 || c.compare(0, 3, "adc") != 0) return 0;
  if (c[3] == '0' || !std::all_of(c.begin() + 3, c.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) return 0;
  const int n = std::stoi(c.substr(3));
  return n >= 1 && n <= 12 ? n : 0;
}

std::string converter_label(const std::string& c) {
  if (const int n = adc_shorthand_bits(c)) return fmt::format("{}-bit ADC", n);
  return c == "ideal" ? "uncalibrated" : c;
}

std::string fmt_scale(double w) { return fmt::format("{:g}", w); }

// SI energy with a unit that keeps 3 significant digits readable.
std::string si(double v, const char* unit) {
  const std::pair<double, const char*> scales[] = {{1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}, {1e-12, "p"}, {1e-15, "f"}};
  for (const auto& [s, p] : scales)
    if (std::abs(v) >= s) return fmt::format("{:.3g} {}{}", v / s, p, unit);
  return fmt::format("{:.3g} {}", v, unit);
}

// What the data-aware flips' guard (imc::FlipGuard) did across the run, for the report.
std::string guard_summary(const nlohmann::json& all, size_t guard_images) {
  if (guard_images == 0) return " (no guard)";
  int runs = 0, dropped = 0;
  for (const auto& j : all)
    if (j.contains("binsparx_calibration")) {
      ++runs;
      dropped += !j["binsparx_calibration"]["guard"]["flips_kept"].get<bool>();
    }
  return fmt::format(", and kept only if the network, run end to end on up to {} further training images, classifies "
                     "at least as many of them correctly with the flips as without (dropped in {} of {} "
                     "configurations, which then equal plain AND)",
                     guard_images, dropped, runs);
}

// The base recipe restricted to one cell, one wire scale and the requested rows, written into the
// cache (the cache keys a bundle on the recipe's text, so equal slices are characterized once).
fs::path slice_recipe(const fs::path& base, const std::string& section, const std::string& cell, double wire,
                      const std::vector<int>& rows, const fs::path& cache) {
  toml::table t;
  try {
    t = toml::parse_file(base.string());
  } catch (const toml::parse_error& e) {
    throw xbarkit::InputError(base.string(), "", fmt::format("not a TOML file: {}", e.description()));
  }
  auto* s = t[section].as_table();
  if (!s) throw xbarkit::InputError(base.string(), section, fmt::format("the main job needs a [{}] recipe", section));
  toml::array cells, wires, rr;
  cells.push_back(cell);
  wires.push_back(wire);
  for (int r : rows) rr.push_back(r);
  s->insert_or_assign("cells", cells);
  s->insert_or_assign("wire_scale", wires);
  s->insert_or_assign("rows", rr);
  // A technology given as a path relative to the base recipe stays that file.
  if (auto tech = (*s)["tech"].value<std::string>(); tech && tech->find('/') != std::string::npos &&
                                                      fs::path(*tech).is_relative())
    s->insert_or_assign("tech", fs::absolute(base.parent_path() / *tech).string());
  std::string rows_s;
  for (int r : rows) rows_s += (rows_s.empty() ? "" : "-") + std::to_string(r);
  const fs::path out = cache / "recipes" / fmt::format("{}_{}_w{}_r{}.toml", base.stem().string(), cell, fmt_scale(wire), rows_s);
  std::ostringstream text;
  text << "# Derived by `xbarkit run` from " << base.string() << ": one cell, one wire scale.\n" << t << "\n";
  fs::create_directories(out.parent_path());
  if (!fs::exists(out) || xbarkit::read_text_file(out) != text.str()) xbarkit::write_file_atomic(out, text.str());
  return out;
}

// The recipe of an N-bit column ADC for one array (cell, wire scale, rows) of a slice, spanning
// max_count conducting cells (rows for the AND mapping, rows / 2 for XNOR, whose column conducts at
// most that many): thresholds calibrated to the array's mean transfer (characterize/kind_adc.cpp), a
// population of 1,024 instances with the per-column offset, gain, INL and DNL of
// characterization/adc4_7nm_chips.toml (Ghosh et al., arXiv 2408.06390) from which every column of
// every array draws one. Written into the cache, which keys the bundle on this text.
constexpr int kAdcPopulation = 1024;
fs::path adc_recipe(int bits, int max_count, const fs::path& ps_dir, const std::string& table, const std::string& cell,
                    double wire, int rows, const fs::path& cache) {
  std::ostringstream text;
  text << "# Derived by `xbarkit run`: a " << bits << "-bit column ADC spanning " << max_count << " cells for the "
       << rows << "-row " << cell << " array at wire scale " << fmt_scale(wire) << ", calibrated to its mean transfer.\n"
       << "[characterize]\nkind = \"adc\"\nseed = 7\n\n[adc]\n"
       << "bits = " << bits << "\n"
       << "array_lut = " << toml::value<std::string>(fs::weakly_canonical(fs::absolute(ps_dir)).string()) << "\n"
       << "array_config = " << toml::value<std::string>(table) << "\n"
       << "max_count = " << max_count << "\n"
       << "columns = " << kAdcPopulation << "\ncolumns_per_point = " << kAdcPopulation << "\n"
       << "sigma_offset_lsb = 0.5\nsigma_gain = 0.02\nsigma_inl_lsb = 0.5\nsigma_dnl_lsb = 0.5\n";
  const fs::path out = cache / "recipes" / fmt::format("{}_adc{}_k{}.toml", ps_dir.filename().string(), bits, max_count);
  fs::create_directories(out.parent_path());
  if (!fs::exists(out) || xbarkit::read_text_file(out) != text.str()) xbarkit::write_file_atomic(out, text.str());
  return out;
}

std::string bundle_hash(const fs::path& dir) {
  return xbarkit::sha256_hex(xbarkit::read_text_file(dir / "lut.json"));
}

struct Slice {  // one cell and wire scale: its two bundles (and the adcN converters' ADC bundles)
  std::string cell;
  double wire = 1;
  fs::path ps_dir, read_dir;
  std::shared_ptr<const xbarkit::lut::ArrayPsLut> ps;
  std::map<std::tuple<int, int, int>, fs::path> adc_dirs;  // (bits, rows, max_count)
};

const xbarkit::cli::Register reg("run", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  opt->recipe = (xbarkit::source_dir() / "characterization" / "main_job.toml").string();
  opt->read_recipe = (xbarkit::source_dir() / "characterization" / "main_job_read.toml").string();
  opt->network = (xbarkit::source_dir() / "models" / "networks" / "bnn_cnn").string();
  opt->hw_network = (xbarkit::source_dir() / "models" / "networks" / "bnn_cnn_ir128").string();
  opt->cache = (xbarkit::source_dir() / "out" / "main_job").string();
  auto* cmd = app.add_subcommand(
      "run", "The main job on built-in defaults: for 7nm sram8t and rram1t1r arrays at 64/128/256 rows and wire scales "
             "0.5/1/2, with an uncalibrated and a calibrated converter, the accuracy of the shipped binary CNN (XNOR, "
             "AND, BinSparX paper and data-aware) and of the hardware-aware network, with energy, latency and area "
             "per image; names the largest tile within one point of software");
  cmd->add_option("--recipe", opt->recipe, "array_ps characterization recipe (cells, rows and wire scales are set per slice)")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  cmd->add_option("--read-recipe", opt->read_recipe,
                  "array_read characterization recipe for energy, latency and area ('none': no costs)")
      ->capture_default_str();
  cmd->add_option("--network", opt->network, "Network architecture path without extension")->capture_default_str();
  cmd->add_option("--hw-network", opt->hw_network,
                  "Hardware-aware trained network (XNOR mapping, evaluated on sram8t arrays only; 'none': skip)")
      ->capture_default_str();
  cmd->add_option("--hw-converter", opt->hw_converter,
                  "The converter the hardware-aware network was trained with: it runs with that one only")
      ->capture_default_str();
  auto* cells = cmd->add_option("--cells", opt->cells, "Cell kinds: " + xbarkit::netlist::cell_names())
                    ->delimiter(',')
                    ->capture_default_str();
  auto* rows = cmd->add_option("--rows", opt->rows, "Crossbar rows per tile")->delimiter(',')->capture_default_str();
  auto* wires = cmd->add_option("--wire-scales", opt->wire_scales, "Wire-resistance scales of the 7nm defaults")
                    ->delimiter(',')
                    ->capture_default_str();
  auto* convs = cmd->add_option("--converters", opt->converters,
                                "Partial-sum converters (ideal = uncalibrated round(I / I_cell); see xbarkit infer); adcN "
                                "(N = 1..12): an N-bit column ADC per array, thresholds calibrated to its mean transfer, "
                                "with per-column offset/gain/INL/DNL variation, characterized and cached like the arrays")
                    ->delimiter(',')
                    ->capture_default_str();
  auto* images = cmd->add_option("--images", opt->images, "Use the first N test images in every configuration "
                                                          "(0 = the staged counts of --stages)");
  auto* stages = cmd->add_option("--stages", opt->stages,
                                 "Staged image counts: a configuration moves to the next count while it is not clearly "
                                 "(3 paired standard errors) more than one point below software")
                     ->delimiter(',')
                     ->capture_default_str();
  auto* quick = cmd->add_flag("--quick", opt->quick,
                              "A first look in about a minute: sram8t, wire scale 1, 64 and 128 rows, 200 images")
                    ->excludes(images)
                    ->excludes(rows)
                    ->excludes(cells)
                    ->excludes(wires)
                    ->excludes(stages);
  cmd->add_flag("--full", opt->full, "All 10,000 test images in every configuration")
      ->excludes(images)
      ->excludes(quick)
      ->excludes(stages);
  (void)convs;
  cmd->add_option("--calibration-images", opt->calibration_images,
                  "BinSparX data-aware: training images the flips are chosen on")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--guard-images", opt->guard_images,
                  "BinSparX data-aware: up to N further training images on which the network runs with the chosen "
                  "flips and without; the flips are kept unless they classify fewer correctly (0 = no guard)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  cmd->add_option("--cache", opt->cache, "Directory of cached characterization bundles")->capture_default_str();
  cmd->add_option("--report", opt->report, "Markdown report to write (default: CACHE/report.md)");
  cmd->add_option("--data", opt->data, "Fashion-MNIST directory (default: Debian's)");
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores); results do not depend on it");
  cmd->add_option("--seed", opt->seed, "Seed of the LUT sampling")->capture_default_str();
  xbarkit::cli::add_progress_options(cmd, opt->progress);
  cmd->add_flag("--json", opt->json, "Print every configuration's results as one JSON document on stdout (the log "
                                     "goes to stderr)");
  cmd->callback([opt] {
    namespace nn = xbarkit::nn;
    namespace imc = xbarkit::imc;
    const auto t_start = std::chrono::steady_clock::now();
    const std::string cmdline = xbarkit::this_command_line();
    std::ostream& log = opt->json ? std::cerr : std::cout;
    if (opt->quick) {
      opt->cells = {"sram8t"};
      opt->wire_scales = {1.0};
      opt->rows = {64, 128};
      opt->stages = {200};
    }
    // A repeated cell, tile height, wire scale or converter would only repeat work (and two slices
    // characterized at once into one cache directory).
    const auto dedupe = [](auto& v) {
      for (size_t i = 0; i < v.size(); ++i)
        for (size_t j = v.size(); j-- > i + 1;)
          if (v[j] == v[i]) v.erase(v.begin() + static_cast<std::ptrdiff_t>(j));
    };
    dedupe(opt->cells);
    dedupe(opt->rows);
    dedupe(opt->wire_scales);
    dedupe(opt->converters);
    if (opt->full) opt->stages = {0};
    if (opt->images) opt->stages = {opt->images};
    // Converter names are checked before any characterization (their arguments when they are built).
    for (const auto& c : opt->converters) {
      if (adc_shorthand_bits(c)) continue;
      const std::string kind = c.substr(0, c.find(':'));
      const auto& types = imc::converter_types();
      if (std::none_of(types.begin(), types.end(), [&](const auto& t) { return t.name == kind; })) {
        std::string known = "adcN (N = 1..12)";
        for (const auto& t : types) known += " | " + t.usage;
        throw xbarkit::InputError("", "--converters", fmt::format("unknown converter '{}' ({})", c, known));
      }
    }
    for (const auto& c : opt->cells)
      if (!xbarkit::netlist::find_cell(c))
        throw xbarkit::InputError("", "--cells", fmt::format("unknown cell kind '{}' ({})", c, xbarkit::netlist::cell_names()));
    if (opt->stages.empty()) throw xbarkit::InputError("", "--stages", "needs at least one image count");
    for (size_t i = 0; i + 1 < opt->stages.size(); ++i)
      if (opt->stages[i] == 0)
        throw xbarkit::InputError("", "--stages", "0 (all test images) can only be the last count");
    for (size_t i = 1; i < opt->stages.size(); ++i)
      if (opt->stages[i] != 0 && opt->stages[i] <= opt->stages[i - 1])
        throw xbarkit::InputError("", "--stages", "image counts must increase");
    if (!opt->report.empty() && fs::path(opt->report).extension() != ".md")
      throw xbarkit::InputError("", "--report",
                                fmt::format("'{}': the report is Markdown and must end in .md (its results are written "
                                            "beside it as .json, its figures as .png)",
                                            opt->report));
    log << "xbarkit main job: which tile height, cell and sensing scheme keep a binary CNN within one point of its "
           "software accuracy on 7nm crossbars, and at what energy?\n";
    const fs::path net_base = opt->network;
    if (!fs::exists(net_base.string() + ".safetensors"))
      throw xbarkit::InputError(net_base.string() + ".safetensors", "",
                                "the trained network is missing (train it with 'xbarkit train', see README.md)");
    // The data-aware flips are chosen on training images, never on the evaluated test images, and
    // guarded on the ones after them: both must fit the training set (checked before any work).
    const fs::path data_dir = opt->data.empty() ? nn::default_fashion_mnist_dir() : fs::path(opt->data);
    const auto calibration = std::make_shared<const nn::Dataset>(nn::load_fashion_mnist(data_dir, nn::Split::Train));
    if (opt->calibration_images + opt->guard_images > calibration->count)
      throw xbarkit::InputError(calibration->name, "--guard-images",
                                fmt::format("{} calibration + {} guard images exceed the {} training images; lower "
                                            "--calibration-images or --guard-images",
                                            opt->calibration_images, opt->guard_images, calibration->count));
    const bool costs = opt->read_recipe != "none";
    if (costs && !fs::exists(opt->read_recipe)) throw xbarkit::InputError(opt->read_recipe, "--read-recipe", "no such file");
    // The hardware-aware network runs with the converter it was trained with, so only when that one
    // is among --converters.
    const bool hw = opt->hw_network != "none" &&
                    std::find(opt->converters.begin(), opt->converters.end(), opt->hw_converter) != opt->converters.end();
    if (opt->hw_network != "none" && !hw)
      log << fmt::format("hardware-aware network {} skipped: it runs with the {} converter it was trained with "
                         "(--hw-converter), which is not among --converters\n",
                         opt->hw_network, opt->hw_converter);
    // Where the hardware-aware network runs: the cell and converter it was trained on (at every tile
    // height and wire scale, which shows how far its training carries).
    const auto runs_hw = [&](const std::string& cell, const std::string& conv) {
      return hw && cell == "sram8t" && conv == opt->hw_converter;
    };

    // 1. Bundles, one per (kind, cell, wire scale), characterized concurrently with one thread each:
    //    a slice's points are few and unequal (three 256-row read transients take most of its time),
    //    so one slice on all cores would leave cores idle while its last transient runs. Longest
    //    first: the read slices, then the partial-sum slices. Each job's log is printed whole.
    std::vector<Slice> slices;
    for (const auto& cell : opt->cells)
      for (double w : opt->wire_scales) {
        Slice s;
        s.cell = cell;
        s.wire = w;
        slices.push_back(s);
      }
    struct CharJob {
      Slice* slice;
      bool read;
      fs::path recipe;
    };
    std::vector<CharJob> jobs;
    if (costs)
      for (auto& s : slices)
        jobs.push_back({&s, true, slice_recipe(opt->read_recipe, "array_read", s.cell, s.wire, opt->rows, opt->cache)});
    for (auto& s : slices)
      jobs.push_back({&s, false, slice_recipe(opt->recipe, "array_ps", s.cell, s.wire, opt->rows, opt->cache)});
    {
      const unsigned threads = opt->threads ? opt->threads : xbarkit::default_threads();
      const unsigned workers = static_cast<unsigned>(std::min<size_t>(threads, jobs.size()));
      const unsigned per_job = std::max(1u, threads / std::max(1u, workers));
      std::mutex log_mutex;
      // Outlives every job's own StopSignals (core/stop.hpp): a SIGINT/SIGTERM stops all of them.
      const xbarkit::StopSignals stop;
      xbarkit::parallel_for(jobs.size(), workers, [&](size_t i) {
        xbarkit::throw_if_stopped("characterization");  // no new slice after a stop request
        std::ostringstream job_log;
        const auto dir = xbarkit::characterize::cached_characterization(
                             jobs[i].recipe, opt->cache, per_job, job_log,
                             workers > 1 ? xbarkit::ProgressMode::off : opt->progress)
                             .dir;
        (jobs[i].read ? jobs[i].slice->read_dir : jobs[i].slice->ps_dir) = dir;
        std::lock_guard<std::mutex> lock(log_mutex);
        log << job_log.str();
        log.flush();
      });
    }
    for (auto& s : slices) s.ps = std::make_shared<const xbarkit::lut::ArrayPsLut>(xbarkit::lut::ArrayPsLut::load(s.ps_dir));
    // The adcN converters' bundles: one per slice, tile height, resolution and span (seconds in all).
    for (const auto& conv : opt->converters)
      if (const int bits = adc_shorthand_bits(conv))
        for (auto& s : slices)
          for (int R : opt->rows)
            for (const int span : {R / 2, R}) {
              const auto& table = s.ps->find(s.cell, R, s.wire, "").table;
              std::ostringstream job_log;
              s.adc_dirs[{bits, R, span}] =
                  xbarkit::characterize::cached_characterization(
                      adc_recipe(bits, span, s.ps_dir, table, s.cell, s.wire, R, opt->cache), opt->cache,
                      opt->threads ? opt->threads : xbarkit::default_threads(), job_log, xbarkit::ProgressMode::off)
                      .dir;
              log << job_log.str();
            }
    const double t_char = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

    // 2. Networks and data.
    const auto net = nn::load_network(net_base);
    std::optional<nn::Network> hw_net;
    if (hw) hw_net = nn::load_network(opt->hw_network);
    const auto test = nn::load_fashion_mnist(data_dir, nn::Split::Test);
    for (auto& s : opt->stages)
      if (s == 0 || s > test.count) s = test.count;
    // Counts beyond the test set all become the whole set: keep one of them, so the stages still increase.
    opt->stages.erase(std::unique(opt->stages.begin(), opt->stages.end()), opt->stages.end());
    const size_t n_max = opt->stages.back();
    const auto soft = net.predict_all(test, n_max, opt->threads);
    std::vector<int> hw_soft;
    if (hw) hw_soft = hw_net->predict_all(test, n_max, opt->threads);
    const auto head_accuracy = [&](const std::vector<int>& p, size_t n) {
      size_t c = 0;
      for (size_t i = 0; i < n; ++i) c += p[i] == test.labels[i];
      return double(c) / double(n);
    };
    const double soft_acc = head_accuracy(soft, n_max);
    log << fmt::format("network {}: software accuracy {:.2f}% on the first {} Fashion-MNIST test images\n",
                       net.architecture().name, 100 * soft_acc, n_max);
    if (hw)
      log << fmt::format("network {} (hardware-aware): software accuracy {:.2f}%\n", hw_net->architecture().name,
                         100 * head_accuracy(hw_soft, n_max));
    const auto tech = xbarkit::netlist::load_technology("7nm");

    // Ideal crossbar check (first stage's images, each tile height): bit-identical to software.
    for (int R : opt->rows) {
      SimConfig c;
      c.rows = R;
      const auto e = imc::evaluate(net, test, c, opt->stages.front(), opt->threads, &soft);
      if (e.disagreements != 0)
        throw xbarkit::Error(fmt::format("the ideal {}-row crossbar disagrees with software on {} images: a simulator "
                                         "bug; please report it", R, e.disagreements));
    }

    // 3. Every configuration.
    size_t total = 0;
    for (const auto& s : slices)
      for (const auto& conv : opt->converters)
        for (const auto& m : kMappings) total += (!m.hw_network || runs_hw(s.cell, conv)) * opt->rows.size();
    xbarkit::ProgressReporter progress("run", "configurations", total, opt->progress);
    nlohmann::json all = nlohmann::json::array();
    for (const auto& s : slices)
      for (int R : opt->rows)
        for (const auto& conv : opt->converters)
          for (const auto& m : kMappings) {
            if (m.hw_network && !runs_hw(s.cell, conv)) continue;
            const nn::Network& nw = m.hw_network ? *hw_net : net;
            SimConfig c;
            c.rows = R;
            c.cell = s.cell;
            c.wire_scale = s.wire;
            c.mapping = imc::parse_mapping(m.mapping);
            c.binsparx = imc::parse_binsparx(m.binsparx);
            c.seed = opt->seed;
            c.sensing = imc::Sensing::lut;
            c.array_lut = s.ps;
            const int adc_bits = adc_shorthand_bits(conv);
            const std::tuple<int, int, int> adc_key{adc_bits, R, c.mapping == imc::Mapping::Xnor ? R / 2 : R};
            c.converter = adc_bits ? "adc:" + s.adc_dirs.at(adc_key).string() : conv;
            if (c.binsparx.data_aware) {
              c.calibration_data = calibration;
              c.calibration_images = opt->calibration_images;
              c.guard_images = opt->guard_images;
              c.calibration_threads = opt->threads;
            }
            const auto tc = std::chrono::steady_clock::now();
            const imc::Simulator sim(nw, c);
            const double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - tc).count();
            Evaluation e;
            Drop d;
            std::vector<size_t> counts;
            for (size_t si = 0; si < opt->stages.size(); ++si) {
              // Each stage runs only its new images (imc::extend: the same result as one run).
              if (si == 0)
                e = imc::evaluate(sim, test, opt->stages[si], opt->threads, m.hw_network ? &hw_soft : &soft, nullptr, setup);
              else
                imc::extend(sim, e, test, opt->stages[si], opt->threads, m.hw_network ? &hw_soft : &soft);
              d = paired_drop(e.predictions, soft, test);
              counts.push_back(e.images);
              if (d.mean - 0.01 > 3 * d.stderr_) break;  // clearly more than a point below software
            }
            progress.advance();
            nlohmann::json j = e.to_json();
            j.erase("layers");
            j["name"] = m.name;
            j["mapping_key"] = m.key;
            j["network"] = m.hw_network ? opt->hw_network : opt->network;
            j["converter_spec"] = conv;
            j["converter_label"] = converter_label(conv);
            j["accuracy_stderr"] = accuracy_stderr(e.accuracy, e.images);
            j["software_accuracy"] = head_accuracy(soft, e.images);
            j["drop"] = d.mean;
            j["drop_stderr"] = d.stderr_;
            j["image_stages"] = counts;
            j["setup_seconds"] = setup;
            j["array_lut"] = s.ps_dir.string();
            if (adc_bits) j["adc_bundle"] = s.adc_dirs.at(adc_key).string();
            if (costs) {
              xbarkit::cost::InferenceCostConfig cc;
              cc.read_lut = s.read_dir.string();
              const auto ic = xbarkit::cost::inference_cost(e, nw, tech, cc);
              j["read_lut"] = s.read_dir.string();
              j["energy_per_image_J"] = ic.energy_per_image_J;
              j["latency_per_image_s"] = ic.latency_per_image_s;
              j["area_m2"] = ic.area_m2;
            }
            progress.clear_line();
            log << fmt::format("  {:<8} w x{:<3} {:>3} rows  {:<12} {:<34} {:>6.2f} ± {:4.2f}% on {:>5} images  drop "
                               "{:+6.2f} ± {:4.2f}{}  ({:.1f} s)\n",
                               s.cell, fmt_scale(s.wire), R, converter_label(conv), m.name, 100 * e.accuracy,
                               100 * accuracy_stderr(e.accuracy, e.images), e.images, 100 * d.mean, 100 * d.stderr_,
                               costs ? "  " + si(j["energy_per_image_J"].get<double>(), "J") + "/image" : "",
                               setup + e.seconds);
            log.flush();
            all.push_back(j);
          }
    progress.finish();

    // 4. Tables.
    const auto find = [&](const std::string& cell, double w, int R, const std::string& conv,
                          const std::string& key) -> const nlohmann::json* {
      for (const auto& j : all)
        if (j["config"]["cell"] == cell && std::abs(j["config"]["wire_scale"].get<double>() - w) < 1e-12 &&
            j["config"]["rows"] == R && j["converter_spec"] == conv &&
            j["mapping_key"] == key)
          return &j;
      return nullptr;
    };
    std::ostringstream answer;
    answer << "| cell | converter | wire scale | largest tile within 1 point | mapping | accuracy | drop vs software "
              "(paired SE) | energy / image |\n|---|---|---|---|---|---|---|---|\n";
    nlohmann::json answers = nlohmann::json::array();
    for (const auto& cell : opt->cells)
      for (const auto& conv : opt->converters)
        for (double w : opt->wire_scales) {
          const nlohmann::json* best = nullptr;
          const nlohmann::json* closest = nullptr;  // smallest drop, for the cells where nothing qualifies
          for (int R : opt->rows)
            for (const auto& m : kMappings) {
              const auto* j = find(cell, w, R, conv, m.key);
              if (j && (!closest || (*j)["drop"].get<double>() < (*closest)["drop"].get<double>())) closest = j;
              if (!j || (*j)["drop"].get<double>() > 0.01) continue;
              const auto better = [&](const nlohmann::json* a, const nlohmann::json* b) {  // a better than b?
                if (!b) return true;
                if ((*a)["config"]["rows"] != (*b)["config"]["rows"])
                  return (*a)["config"]["rows"].get<int>() > (*b)["config"]["rows"].get<int>();
                if (costs) return (*a)["energy_per_image_J"].get<double>() < (*b)["energy_per_image_J"].get<double>();
                return (*a)["accuracy"].get<double>() > (*b)["accuracy"].get<double>();
              };
              if (better(j, best)) best = j;
            }
          answer << fmt::format("| {} | {} | {} | ", cell, converter_label(conv), fmt_scale(w));
          nlohmann::json a{{"cell", cell}, {"converter", conv}, {"wire_scale", w}};
          if (best) {
            const auto& b = *best;
            answer << fmt::format("{} rows | {} | {:.2f} ± {:.2f}% ({} images) | {:+.2f} ± {:.2f} | {} |\n",
                                  b["config"]["rows"].get<int>(), b["name"].get<std::string>(),
                                  100 * b["accuracy"].get<double>(), 100 * b["accuracy_stderr"].get<double>(),
                                  b["images"].get<size_t>(), 100 * b["drop"].get<double>(),
                                  100 * b["drop_stderr"].get<double>(),
                                  costs ? si(b["energy_per_image_J"].get<double>(), "J") : "—");
            a["rows"] = b["config"]["rows"];
            a["mapping"] = b["name"];
            a["accuracy"] = b["accuracy"];
            a["drop"] = b["drop"];
            a["drop_stderr"] = b["drop_stderr"];
            if (costs) a["energy_per_image_J"] = b["energy_per_image_J"];
          } else {
            a["rows"] = nullptr;
            if (closest) {
              // No tile qualifies: say how close the best configuration came, so the row still guides.
              const auto& c = *closest;
              answer << fmt::format("none (closest: {} rows) | {} | {:.2f} ± {:.2f}% ({} images) | {:+.2f} ± {:.2f} | {} |\n",
                                    c["config"]["rows"].get<int>(), c["name"].get<std::string>(),
                                    100 * c["accuracy"].get<double>(), 100 * c["accuracy_stderr"].get<double>(),
                                    c["images"].get<size_t>(), 100 * c["drop"].get<double>(),
                                    100 * c["drop_stderr"].get<double>(),
                                    costs ? si(c["energy_per_image_J"].get<double>(), "J") : "—");
              a["closest"] = {{"rows", c["config"]["rows"]}, {"mapping", c["name"]}, {"accuracy", c["accuracy"]},
                              {"drop", c["drop"]}, {"drop_stderr", c["drop_stderr"]}};
            } else {
              answer << "none | — | — | — | — |\n";
            }
          }
          answers.push_back(a);
        }

    // Per cell and converter: lines rows x wire scale, columns the mappings.
    std::ostringstream grid;
    for (const auto& cell : opt->cells)
      for (const auto& conv : opt->converters) {
        grid << fmt::format("\n### {}, {} converter\n\nAccuracy ± binomial SE [images]{}; ‡: the guard dropped the "
                            "data-aware flips (the run is plain AND).\n\n| rows | wire scale |",
                            cell, converter_label(conv), costs ? " · energy per image" : "");
        size_t ncol = 0;
        for (const auto& m : kMappings)
          if (!m.hw_network || runs_hw(cell, conv)) {
            grid << " " << m.name << " |";
            ++ncol;
          }
        grid << "\n|---|---|";
        for (size_t i = 0; i < ncol; ++i) grid << "---|";
        grid << "\n";
        for (int R : opt->rows)
          for (double w : opt->wire_scales) {
            grid << fmt::format("| {} | {} |", R, fmt_scale(w));
            for (const auto& m : kMappings) {
              if (m.hw_network && !runs_hw(cell, conv)) continue;
              const auto* j = find(cell, w, R, conv, m.key);
              if (!j) {
                grid << " — |";
                continue;
              }
              const double acc = (*j)["accuracy"].get<double>();
              const bool within = (*j)["drop"].get<double>() <= 0.01;
              grid << fmt::format(" {}{:.1f} ± {:.1f} [{}]{}", within ? "**" : "", 100 * acc,
                                  100 * (*j)["accuracy_stderr"].get<double>(), (*j)["images"].get<size_t>(),
                                  within ? "**" : "");
              if (j->contains("binsparx_calibration") && !(*j)["binsparx_calibration"]["guard"]["flips_kept"].get<bool>())
                grid << " ‡";
              if (costs) grid << " · " << si((*j)["energy_per_image_J"].get<double>(), "J");
              grid << " |";
            }
            grid << "\n";
          }
      }
    // Latency and area (calibrated converter where run: they do not depend on the converter's calibration).
    std::ostringstream lat;
    if (costs) {
      lat << "| cell | rows | wire scale |";
      for (const auto& m : kMappings) lat << " " << m.name << " |";
      lat << "\n|---|---|---|";
      for (size_t i = 0; i < std::size(kMappings); ++i) lat << "---|";
      lat << "\n";
      for (const auto& cell : opt->cells)
        for (int R : opt->rows)
          for (double w : opt->wire_scales) {
            lat << fmt::format("| {} | {} | {} |", cell, R, fmt_scale(w));
            for (const auto& m : kMappings) {
              const auto* j = find(cell, w, R, opt->converters.back(), m.key);
              if (j)
                lat << " " << si((*j)["latency_per_image_s"].get<double>(), "s") << " / "
                    << fmt::format("{:.3g} mm²", (*j)["area_m2"].get<double>() * 1e6) << " |";
              else
                lat << " — |";
            }
            lat << "\n";
          }
    }

    const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    log << fmt::format("\nThe answer: the largest tile within one point of software ({:.2f}% on the first {} images) "
                       "per cell, converter and wire scale:\n\n",
                       100 * soft_acc, n_max)
        << answer.str() << grid.str();

    // 5. Report.
    std::ostringstream bundles;
    bundles << "| cell | wire scale | array_ps bundle | SHA-256 of lut.json | array_read bundle | SHA-256 of lut.json |\n"
               "|---|---|---|---|---|---|\n";
    nlohmann::json bundles_j = nlohmann::json::array();
    std::ostringstream adc_bundles;  // table rows of the adcN converters' bundles
    for (const auto& s : slices) {
      const std::string hp = bundle_hash(s.ps_dir), hr = costs ? bundle_hash(s.read_dir) : "";
      bundles << fmt::format("| {} | {} | `{}` | `{}` | `{}` | `{}` |\n", s.cell, fmt_scale(s.wire),
                             s.ps_dir.filename().string(), hp, costs ? s.read_dir.filename().string() : "—",
                             costs ? hr : "—");
      bundles_j.push_back({{"cell", s.cell}, {"wire_scale", s.wire}, {"array_ps", s.ps_dir.string()},
                           {"array_ps_sha256", hp}, {"array_read", costs ? s.read_dir.string() : ""},
                           {"array_read_sha256", hr}});
      nlohmann::json adcs = nlohmann::json::array();
      for (const auto& [key, dir] : s.adc_dirs) {
        const auto [bits, rows, span] = key;
        const std::string ha = bundle_hash(dir);
        adcs.push_back({{"bits", bits}, {"rows", rows}, {"max_count", span}, {"adc", dir.string()}, {"adc_sha256", ha}});
        adc_bundles << fmt::format("| {} | {} | {} | {} | {} ({}) | `{}` | `{}` |\n", s.cell, fmt_scale(s.wire), rows, bits,
                                   span, span == rows ? "AND" : "XNOR", dir.filename().string(), ha);
      }
      if (!adcs.empty()) bundles_j.back()["adc"] = adcs;
    }
    std::ostringstream heldout;
    heldout << "| table | NRMSE of mean (% of full scale) | ±2σ coverage |\n|---|---|---|\n";
    for (const auto& s : slices) {
      const auto validation = xbarkit::lut::load_bundle(s.ps_dir).validation;
      for (const auto& c : validation.value("configs", nlohmann::json::array()))
        if (c.contains("held_out"))
          heldout << fmt::format("| {} | {:.3f} | {:.3f} |\n", c.value("table", ""),
                                 100 * c["held_out"].value("nrmse_mean", 0.0),
                                 c["held_out"].value("coverage_2sigma", 0.0));
    }
    const fs::path report = opt->report.empty() ? fs::path(opt->cache) / "report.md" : fs::path(opt->report);
    if (report.has_parent_path()) fs::create_directories(report.parent_path());
    const fs::path results_json = fs::path(report).replace_extension(".json");
    const std::string stem = fs::path(report).replace_extension("").string();
    const fs::path fig_grid = stem + "_accuracy_grid.png", fig_pareto = stem + "_accuracy_vs_energy.png";
    nlohmann::json j{{"software_accuracy", soft_acc},
                     {"software_accuracy_stderr", accuracy_stderr(soft_acc, n_max)},
                     {"images", n_max},
                     {"image_stages", opt->stages},
                     {"calibration_images", opt->calibration_images},
                     {"guard_images", opt->guard_images},
                     {"command", cmdline},
                     {"bundles", bundles_j},
                     {"answers", answers},
                     {"report", report.string()},
                     {"configurations", all},
                     {"characterization_seconds", t_char},
                     {"seconds", total_s}};
    xbarkit::write_file_atomic(results_json, j.dump(2) + "\n");
    const int st_grid = xbarkit::cli::draw_figure({"main-job", results_json.string(), "--figure", "grid", "-o", fig_grid.string()});
    const int st_pareto =
        costs ? xbarkit::cli::draw_figure({"main-job", results_json.string(), "--figure", "pareto", "-o", fig_pareto.string()})
              : -2;
    std::ostringstream rep;
    const std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    std::string stages_s;
    for (size_t s : opt->stages) stages_s += (stages_s.empty() ? "" : " → ") + std::to_string(s);
    rep << "# xbarkit main job report\n\n"
        << "Command: `" << cmdline << "`  \n"
        << "Date: " << date << "; xbarkit " << XBARKIT_VERSION << "; " << fmt::format("{:.0f}", total_s) << " s on "
        << (opt->threads ? opt->threads : xbarkit::default_threads()) << " threads ("
        << fmt::format("{:.0f}", t_char) << " s of it characterizing or verifying bundles).\n\n"
        << "Network: `" << net_base.string() << "` (" << net.architecture().name << "); software accuracy "
        << fmt::format("{:.2f} ± {:.2f}%", 100 * soft_acc, 100 * accuracy_stderr(soft_acc, n_max)) << " on the first "
        << n_max << " Fashion-MNIST test images.";
    if (hw)
      rep << " Hardware-aware network: `" << opt->hw_network
          << "` (fine-tuned for 128-row sram8t tiles at wire scale 1 with the " << converter_label(opt->hw_converter)
          << " converter, XNOR mapping; run on every sram8t configuration with the XNOR mapping and that converter, "
             "and not on rram1t1r, whose currents it never saw), software accuracy "
          << fmt::format("{:.2f}%", 100 * head_accuracy(hw_soft, n_max)) << ".";
    rep << "\n\nSensing: every tile column's current is sampled from the array_ps LUT at the column's features "
           "(conducting count, IR-drop load, ...) and converted by the `ideal` converter (uncalibrated, "
           "round(I / I_cell)), `calibrated` (inverts the LUT's mean transfer) or `adcN` (an N-bit column ADC per "
           "array spanning its rows (AND) or half of them (XNOR, whose columns conduct at most that many cells), its "
           "thresholds calibrated to the array's mean transfer, every column an instance drawn (chip 0) from a "
           "population of 1,024 with offset (σ 0.5 LSB), gain (σ 2%), INL and DNL (σ 0.5 LSB each)); seed "
        << opt->seed << ". BinSparX data-aware: flips chosen on the first " << opt->calibration_images
        << " training images" << guard_summary(all, opt->guard_images) << ". Costs: `cost::inference_cost` with the array_read bundle (as `xbarkit infer --read-lut`), "
           "a SAR ADC per column at full precision (log2(rows + 1) bits), or N bits for `adcN`.\n\n"
        << "Image counts: every configuration ran on the first " << stages_s
        << " test images, moving to the next count only while its accuracy was not more than one point below software "
           "by 3 paired standard errors; the count is in brackets. The drop is software minus crossbar accuracy on the "
           "same images, with the standard error of the paired difference.\n\n"
        << "## The answer\n\nLargest tile (rows) within one point of software accuracy, per cell, converter and wire "
           "scale, and its energy per image (among the mappings that stay within one point at that tile height, the "
           "cheapest):\n\n"
        << answer.str() << "\n## Figures\n\n";
    if (st_grid == 0)
      rep << "![accuracy over rows x wire scale](" << fs::path(fig_grid).filename().string() << ")\n\n";
    else
      rep << fmt::format("Grid figure not drawn: `xbarkit plot main-job` ended with status {} (see the log).\n\n", st_grid);
    if (st_pareto == 0)
      rep << "![accuracy vs energy](" << fs::path(fig_pareto).filename().string() << ")\n\n";
    else if (costs)
      rep << fmt::format("Pareto figure not drawn: `xbarkit plot main-job` ended with status {}.\n\n", st_pareto);
    rep << "## Accuracy and energy per configuration\n\nBold: within one point of software.\n" << grid.str();
    if (costs)
      rep << "\n## Latency and area per image\n\nLatency per image / area (" << converter_label(opt->converters.back())
          << " converter runs; assumptions: layers run one after another, tiles of a layer in parallel, one converter "
             "per column, docs/COSTS.md):\n\n"
          << lat.str();
    rep << "\n## Bundles\n\n" << bundles.str();
    if (!adc_bundles.str().empty())
      rep << "\nColumn ADCs of the adcN converters (thresholds calibrated to each array's mean transfer):\n\n"
             "| cell | wire scale | rows | bits | cells spanned (mapping) | adc bundle | SHA-256 of lut.json |\n"
             "|---|---|---|---|---|---|---|\n"
          << adc_bundles.str();
    rep << "\n## LUT held-out check (array_ps)\n\n" << heldout.str();
    xbarkit::write_file_atomic(report, rep.str());
    if (st_grid == 0) j["figures"]["grid"] = fig_grid.string();
    if (st_pareto == 0) j["figures"]["pareto"] = fig_pareto.string();
    log << fmt::format("\nreport: {} ({:.0f} s in total, {:.0f} s characterizing)\n", report.string(), total_s, t_char);
    if (opt->json) std::cout << j.dump(2) << "\n";
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_run
