// xbarkit run : the main job on built-in defaults (the README's first command, scripts/run.sh).
//
// The whole story in one command: characterize the 7nm array (--cell, default sram8t) at 64/128/256 rows
// (characterization/main_job.toml; the bundle is cached under out/main_job/ keyed by the recipe's and
// the model files' SHA-256, so an unchanged setup reuses it), then run the shipped binary CNN on the
// Fashion-MNIST test set through simulated crossbars and print one table: software accuracy, the
// ideal crossbar, the IR-drop (LUT) XNOR baseline, the AND mapping and BinSparX static / dynamic /
// both, per array size, with the conducting-cell statistics. The table also goes to a Markdown report
// (written atomically) with the exact command line.
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "figure.hpp"
#include "progress_cli.hpp"
#include "registry.hpp"
#include "xbarkit/characterize/cache.hpp"
#include "xbarkit/core/command_line.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/nn/dataset.hpp"

namespace {

namespace fs = std::filesystem;
using xbarkit::imc::Evaluation;
using xbarkit::imc::SimConfig;

struct Options {
  std::string recipe, network, cache, report, converter = "ideal", data, cell = "sram8t";
  std::vector<int> rows{64, 128, 256};
  size_t images = 0;
  unsigned threads = 0;
  uint64_t seed = 1;
  bool json = false, quick = false, full = false;
  xbarkit::ProgressMode progress = xbarkit::ProgressMode::automatic;
};

std::string pct(double f) { return fmt::format("{:.2f}%", 100 * f); }

// Binomial standard error of an accuracy measured on n images: sqrt(p (1 - p) / n).
double accuracy_stderr(double p, size_t n) { return n ? std::sqrt(p * (1 - p) / double(n)) : 0.0; }
std::string pct_se(double p, size_t n) { return fmt::format("{:.2f} ± {:.2f}%", 100 * p, 100 * accuracy_stderr(p, n)); }

struct Row {
  std::string name;
  bool lut = true;
  std::string mapping, binsparx;
};

const Row kRows[] = {{"ideal crossbar (XNOR, no IR drop)", false, "xnor", "none"},
                     {"XNOR baseline (IR drop)", true, "xnor", "none"},
                     {"AND mapping", true, "and", "none"},
                     {"AND + BinSparX static", true, "and", "static"},
                     {"AND + BinSparX dynamic", true, "and", "dynamic"},
                     {"AND + BinSparX both", true, "and", "both"},
                     // flips chosen per tile column on training images with the LUT and converter
                     // (imc/binsparx.hpp); the same hardware as the paper's static rule
                     {"AND + BinSparX static, data-aware", true, "and", "static-data"}};

const xbarkit::cli::Register reg("run", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  opt->recipe = (xbarkit::source_dir() / "characterization" / "main_job.toml").string();
  opt->network = (xbarkit::source_dir() / "models" / "networks" / "bnn_cnn").string();
  opt->cache = (xbarkit::source_dir() / "out" / "main_job").string();
  auto* cmd = app.add_subcommand(
      "run", "The main job on built-in defaults: characterize the 7nm 8T-SRAM array (cached), then run the shipped "
             "binary CNN on Fashion-MNIST through simulated 64/128/256-row crossbars and print the accuracy of the "
             "ideal crossbar, the IR-drop XNOR baseline, the AND mapping and BinSparX static/dynamic/both");
  cmd->add_option("--recipe", opt->recipe, "array_ps characterization recipe")->check(CLI::ExistingFile)->capture_default_str();
  cmd->add_option("--network", opt->network, "Network architecture path without extension")->capture_default_str();
  cmd->add_option("--cell", opt->cell, "Cell kind of the arrays (the recipe must characterize it): " +
                                          xbarkit::netlist::cell_names())
      ->capture_default_str();
  auto* rows = cmd->add_option("--rows", opt->rows, "Crossbar rows per tile (each must be in the recipe)")
                   ->delimiter(',')
                   ->capture_default_str();
  auto* images = cmd->add_option("--images", opt->images, "Use the first N test images (0 = all 10,000)");
  auto* quick = cmd->add_flag("--quick", opt->quick,
                              "A first look in about a minute: 64 and 128 rows on the first 500 test images")
                    ->excludes(images)
                    ->excludes(rows);
  cmd->add_flag("--full", opt->full, "All 10,000 test images in every configuration (the default today)")
      ->excludes(images)
      ->excludes(quick);
  cmd->add_option("--converter", opt->converter, "Partial-sum converter of the IR-drop rows (see xbarkit infer)")
      ->capture_default_str();
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
    // With --json, stdout carries the one JSON document and everything else goes to stderr.
    std::ostream& log = opt->json ? std::cerr : std::cout;
    log << fmt::format("xbarkit main job: how much accuracy does IR drop cost a binary CNN on 7nm {} crossbars, and "
                       "how much does BinSparX recover?\n", opt->cell);
    if (!xbarkit::netlist::find_cell(opt->cell))
      throw xbarkit::InputError("", "--cell", fmt::format("unknown cell kind '{}' ({})", opt->cell,
                                                          xbarkit::netlist::cell_names()));
    const fs::path net_base = opt->network;
    if (!fs::exists(net_base.string() + ".safetensors"))
      throw xbarkit::InputError(net_base.string() + ".safetensors", "",
                                "the trained network is missing (train it with 'xbarkit train', see README.md)");
    const auto bundle_dir = xbarkit::characterize::cached_characterization(opt->recipe, opt->cache, opt->threads, log).dir;
    const auto array = std::make_shared<const xbarkit::lut::ArrayPsLut>(xbarkit::lut::ArrayPsLut::load(bundle_dir));
    const auto net = nn::load_network(net_base);
    const auto test = nn::load_fashion_mnist(opt->data.empty() ? nn::default_fashion_mnist_dir() : fs::path(opt->data),
                                             nn::Split::Test);
    if (opt->quick) {
      opt->images = 500;
      opt->rows = {64, 128};
    }
    if (opt->full) opt->images = 0;
    const size_t n = opt->images == 0 || opt->images > test.count ? test.count : opt->images;
    // The data-aware flips are chosen on training images, never on the evaluated test images.
    const auto calibration = std::make_shared<const nn::Dataset>(nn::load_fashion_mnist(
        opt->data.empty() ? nn::default_fashion_mnist_dir() : fs::path(opt->data), nn::Split::Train));
    const auto soft = net.predict_all(test, n, opt->threads);
    const double soft_acc = nn::Network::accuracy(soft, test);
    log << fmt::format("network {}: software (bit-packed) accuracy {} on {} Fashion-MNIST test images\n",
                       net.architecture().name, pct(soft_acc), n);

    // Every configuration runs the images once, and each LUT row once more on ideal currents.
    size_t lut_rows = 0;
    for (const auto& row : kRows) lut_rows += row.lut;
    xbarkit::ProgressReporter progress("run", "images", n * opt->rows.size() * (std::size(kRows) + lut_rows),
                                       opt->progress);
    std::vector<std::vector<Evaluation>> results(opt->rows.size());
    // Conducting-cell statistics with the network's own activations: the same mapping and flips on
    // ideal currents (under IR drop, wrong activations would change what is counted).
    std::vector<std::vector<imc::LayerStats>> activity(opt->rows.size());
    nlohmann::json all = nlohmann::json::array();
    for (size_t ri = 0; ri < opt->rows.size(); ++ri) {
      const int R = opt->rows[ri];
      const auto& cfg_lut = array->find(opt->cell, R);
      for (const auto& row : kRows) {
        SimConfig c;
        c.rows = R;
        c.cell = opt->cell;
        c.mapping = imc::parse_mapping(row.mapping);
        c.binsparx = imc::parse_binsparx(row.binsparx);
        c.seed = opt->seed;
        if (c.binsparx.data_aware) {
          c.calibration_data = calibration;
          c.calibration_threads = opt->threads;
        }
        if (row.lut) {
          c.sensing = imc::Sensing::lut;
          c.array_lut = array;
          c.converter = opt->converter;
        }
        const auto e = imc::evaluate(net, test, c, n, opt->threads, &soft, &progress);
        progress.clear_line();
        log << fmt::format("  {:>3} rows  {:<34} accuracy {:>7}  conducting/weight {:.3f}  ps rms err {:6.2f}  "
                           "({:.1f} s)\n",
                           R, row.name, pct(e.accuracy), e.total.conducting_per_weight(), e.total.ps_rmse(), e.seconds);
        log.flush();
        if (!row.lut && e.disagreements != 0)
          throw xbarkit::Error(fmt::format("the ideal {}-row crossbar disagrees with software on {} images: a simulator "
                                           "bug; please report it", R, e.disagreements));
        if (row.lut) {
          SimConfig ic = c;
          ic.sensing = imc::Sensing::ideal;
          ic.array_lut = nullptr;
          ic.converter = "ideal";
          activity[ri].push_back(imc::evaluate(net, test, ic, n, opt->threads, nullptr, &progress).total);
        } else {
          activity[ri].push_back(e.total);
        }
        auto j = e.to_json();
        j.erase("layers");
        j["conducting_per_weight_ideal_activations"] = activity[ri].back().conducting_per_weight();
        j["mean_conducting_per_read_ideal_activations"] = activity[ri].back().mean_conducting_per_read();
        j["name"] = row.name;
        j["accuracy_stderr"] = accuracy_stderr(e.accuracy, n);
        j["lut_table"] = row.lut ? cfg_lut.table : "";
        all.push_back(j);
        results[ri].push_back(e);
      }
    }

    progress.finish();
    // The table.
    std::ostringstream md;
    md << "| configuration |";
    for (int R : opt->rows) md << fmt::format(" {} rows |", R);
    md << "\n|---|";
    for (size_t i = 0; i < opt->rows.size(); ++i) md << "---|";
    md << "\n| software (no crossbar) |";
    for (size_t i = 0; i < opt->rows.size(); ++i) md << " " << pct_se(soft_acc, n) << " |";
    md << "\n";
    for (size_t k = 0; k < std::size(kRows); ++k) {
      md << "| " << kRows[k].name << " |";
      for (size_t ri = 0; ri < opt->rows.size(); ++ri) md << " " << pct_se(results[ri][k].accuracy, n) << " |";
      md << "\n";
    }
    std::ostringstream cond;
    cond << "| mapping |";
    for (int R : opt->rows) cond << fmt::format(" {} rows |", R);
    cond << "\n|---|";
    for (size_t i = 0; i < opt->rows.size(); ++i) cond << "---|";
    cond << "\n";
    for (size_t k = 1; k < std::size(kRows); ++k) {
      cond << "| " << kRows[k].name.substr(0, kRows[k].name.find(" (")) << " |";
      for (size_t ri = 0; ri < opt->rows.size(); ++ri) {
        const auto& a = activity[ri][k];
        const double xnor = activity[ri][1].conducting_per_weight(), plain = activity[ri][2].conducting_per_weight();
        cond << fmt::format(" {:.3f}", a.conducting_per_weight());
        if (k > 1) cond << fmt::format(" ({:+.1f}% vs XNOR", 100 * (a.conducting_per_weight() / xnor - 1));
        if (k > 2) cond << fmt::format(", {:+.1f}% vs AND", 100 * (a.conducting_per_weight() / plain - 1));
        cond << fmt::format("{} / {:.1f} |", k > 1 ? ")" : "", a.mean_conducting_per_read());
      }
      cond << "\n";
    }
    const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    log << "\nAccuracy ± binomial standard error on " << n << " Fashion-MNIST test images (" << net.architecture().name
        << "; IR-drop rows: array_ps LUT sensing, converter " << opt->converter << "):\n\n"
        << md.str() << "\nConducting cells per weight (dot-product term) and per tile column read, with the "
                       "network's own activations (ideal currents):\n\n"
        << cond.str();

    const auto validation = xbarkit::lut::load_bundle(bundle_dir).validation;
    std::ostringstream rep;
    const std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    rep << "# xbarkit main job report\n\n"
        << "Command: `" << cmdline << "`  \n"
        << "Date: " << date << "; xbarkit " << XBARKIT_VERSION << "; " << fmt::format("{:.0f}", total_s) << " s on "
        << (opt->threads ? opt->threads : xbarkit::default_threads()) << " threads.\n\n"
        << "Network: `" << net_base.string() << "` (" << net.architecture().name << "), " << n
        << " Fashion-MNIST test images; software accuracy " << pct(soft_acc) << ".  \n"
        << "Array: 7nm `" << opt->cell << "` (" << xbarkit::netlist::cell(opt->cell).summary()
        << "), wire defaults of `models/tech/7nm.toml`; LUT bundle `" << bundle_dir.string()
        << "` from `" << opt->recipe << "`.  \n"
        << "IR-drop rows sample each tile column's current from the bundle's predicted distribution at the column's "
           "LUT features (its table's axes) and convert it with the `"
        << opt->converter << "` converter; seed " << opt->seed << ".\n\n## Accuracy\n\nAccuracy ± its binomial standard error, sqrt(p (1 − p) / n) over the n test images.\n\n"
        << md.str() << "\n## Conducting cells\n\nPer weight (dot-product term; change against the XNOR mapping and, "
                       "for BinSparX, the plain AND mapping) and per tile column read, with the network's own "
                       "activations (same mapping and flips on ideal currents):\n\n"
        << cond.str() << "\n## LUT held-out check\n\n| table | NRMSE of mean (% of full scale) | ±2σ coverage |\n|---|---|---|\n";
    for (const auto& c : validation.value("configs", nlohmann::json::array()))
      if (c.contains("held_out"))
        rep << fmt::format("| {} | {:.3f} | {:.3f} |\n", c.value("table", ""),
                           100 * c["held_out"].value("nrmse_mean", 0.0), c["held_out"].value("coverage_2sigma", 0.0));
    const fs::path report = opt->report.empty() ? fs::path(opt->cache) / "report.md" : fs::path(opt->report);
    if (report.has_parent_path()) fs::create_directories(report.parent_path());
    // The results as JSON beside the report (what --json prints), and the figure drawn from them.
    const fs::path results_json = fs::path(report).replace_extension(".json");
    const fs::path figure = fs::path(report).replace_extension("").string() + "_accuracy_vs_rows.png";
    nlohmann::json j{{"software_accuracy", soft_acc}, {"software_accuracy_stderr", accuracy_stderr(soft_acc, n)}, {"images", n}, {"bundle", bundle_dir.string()},
                     {"report", report.string()}, {"configurations", all}, {"seconds", total_s}};
    xbarkit::write_file_atomic(results_json, j.dump(2) + "\n");
    const int plot_status = xbarkit::cli::draw_figure(
        {"accuracy", results_json.string(), "--x", "rows", "-o", figure.string(), "--title",
         fmt::format("{} on 7nm {} tiles: accuracy vs rows ({} images)", net.architecture().name, opt->cell, n)});
    rep << "\n## Figure\n\n";
    if (plot_status == 0) {
      rep << "![accuracy vs rows](" << figure.filename().string() << ")\n";
      j["figure"] = figure.string();
    } else {
      rep << fmt::format("Not drawn: `xbarkit plot accuracy {}` ended with status {} (its message is in the log).\n",
                         results_json.string(), plot_status);
    }
    xbarkit::write_file_atomic(report, rep.str());
    log << fmt::format("\nreport: {}{} ({:.0f} s in total)\n", report.string(),
                       plot_status == 0 ? ", figure " + figure.string() : "", total_s);
    if (opt->json) std::cout << j.dump(2) << "\n";
  });
});

}  // namespace
