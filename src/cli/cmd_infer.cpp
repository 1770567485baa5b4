// xbarkit infer : a binary network on simulated crossbars (imc/simulator.hpp): mapping, BinSparX,
// sensing (ideal / array_ps LUT / exact native solver) and converter (ideal / ADC / SOT-MTJ).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/cost/inference.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace {

struct Options {
  std::string network = "models/networks/bnn_cnn";
  std::string data, array_lut, converter = "ideal", mapping = "xnor", binsparx = "none", cell = "sram8t",
                                tech = "7nm";
  int rows = 128, cols = 0;
  double wire_scale = 1.0;
  bool exact = false, json = false, lut_mean = false;
  size_t images = 0;
  uint64_t seed = 1;
  unsigned threads = 0;
  // Costs (issue 19): with an array_read bundle, energy / latency / area per image
  std::string read_lut;
  xbarkit::cost::InferenceCostConfig cost;
};

// "models/networks/bnn_cnn" works from any directory: relative paths that do not exist here are
// looked up in the source tree.
std::filesystem::path network_path(const std::string& p) {
  std::filesystem::path path(p);
  auto base = path;
  if (base.extension() == ".toml" || base.extension() == ".safetensors") base.replace_extension();
  if (path.is_relative() && !std::filesystem::exists(base.string() + ".toml") &&
      std::filesystem::exists((xbarkit::source_dir() / base).string() + ".toml"))
    return xbarkit::source_dir() / base;
  return base;
}

void print_text(const xbarkit::imc::Evaluation& e, const std::string& network, double software_accuracy,
                const std::string& lut_dir) {
  using fmt::format;
  std::cout << format("network {}: {} Fashion-MNIST test images on {}\n", network, e.images, xbarkit::imc::describe(e.config));
  if (!e.lut_table.empty()) std::cout << format("array LUT: table {} of {}\n", e.lut_table, lut_dir);
  std::cout << format("accuracy {:.2f}% (software {:.2f}%; {} of {} predictions differ from software)\n",
                      100 * e.accuracy, 100 * software_accuracy, e.disagreements, e.images);
  const auto& t = e.total;
  std::cout << format("conducting cells: {:.1f}% of the cells of a column read, {:.3f} per weight, {:.1f} per read",
                      100 * t.conducting_fraction(), t.conducting_per_weight(), t.mean_conducting_per_read());
  if (e.config.binsparx.static_flip || e.config.binsparx.dynamic_flip)
    std::cout << format("; without BinSparX {:.3f} per weight ({:.1f}% fewer with it)", t.conducting_per_weight_plain(),
                        100 * e.reduction());
  std::cout << "\n";
  std::cout << "partial sums per binary layer (digitized vs ideal, per tile column read):\n";
  std::cout << format("  {:>5} {:>12} {:>9} {:>10} {:>10} {:>8} {:>11} {:>9} {:>9}\n", "layer", "reads", "rms err",
                      "mean |err|", "wrong", "max err", "z wrong", "cond/wt", "cond/read");
  for (const auto& l : e.layers) {
    const auto frac = [](int64_t a, int64_t b) { return b ? double(a) / double(b) : 0.0; };
    std::cout << format("  {:>5} {:>12} {:>9.3f} {:>10.3f} {:>9.2f}% {:>8} {:>10.2f}% {:>9.3f} {:>9.2f}\n", l.layer,
                        l.reads, l.ps_rmse(), frac(l.ps_error_abs, l.reads), 100 * frac(l.ps_wrong, l.reads),
                        l.ps_error_max, 100 * frac(l.z_wrong, l.outputs), l.conducting_per_weight(),
                        l.mean_conducting_per_read());
  }
  std::cout << format("{:.2f} s, {:.1f} images/s on {} threads\n", e.seconds, e.images_per_s(), e.threads);
}

const xbarkit::cli::Register reg("infer", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "infer", "Run a binary network on simulated crossbars: XNOR/AND mapping, BinSparX, ideal / LUT / exact sensing, "
               "ideal / ADC / SOT-MTJ converters; prints accuracy, conducting-cell statistics and per-layer "
               "partial-sum errors");
  cmd->add_option("--network", opt->network, "Network architecture path without extension (NET.toml + NET.safetensors)")
      ->capture_default_str();
  cmd->add_option("--rows", opt->rows, "Crossbar rows per tile (R)")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--cols", opt->cols, "Crossbar columns per tile (C; 0 = R)")->check(CLI::Range(0, 4096));
  cmd->add_option("--mapping", opt->mapping, "xnor (two AND rows per input) | and (one row per input, digital "
                                             "correction)")
      ->capture_default_str()
      ->check(CLI::IsMember({"xnor", "and"}));
  cmd->add_option("--binsparx", opt->binsparx, "BinSparX flips: none | static (weight columns) | dynamic (input "
                                               "slices) | both")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "static", "dynamic", "both"}));
  cmd->add_option("--array-lut", opt->array_lut, "array_ps LUT bundle: column currents sampled from its predicted "
                                                 "distribution (without it and without --exact: ideal currents)");
  std::string converters;
  for (const auto& t : xbarkit::imc::converter_types()) converters += fmt::format("\n  {}: {}", t.usage, t.description);
  cmd->add_option("--converter", opt->converter, "Partial-sum converter:" + converters)->capture_default_str();
  cmd->add_flag("--lut-mean", opt->lut_mean, "LUT sensing without sampling: every column reads the LUT's mean current");
  cmd->add_flag("--exact", opt->exact, "Solve every tile with the native circuit solver (slow: validation subsets)");
  cmd->add_option("--cell", opt->cell,
                  fmt::format("Cell kind: {} (picks the LUT table; exact mode's array)", xbarkit::netlist::cell_names()))
      ->capture_default_str();
  cmd->add_option("--wire-scale", opt->wire_scale, "Wire-resistance scale (picks the LUT table; scales exact mode's "
                                                   "wires)")
      ->capture_default_str();
  cmd->add_option("--tech", opt->tech, "Technology for exact mode and the ideal cell current")->capture_default_str();
  cmd->add_option("--images", opt->images, "Use the first N test images (0 = all)");
  cmd->add_option("--data", opt->data, "Directory with t10k-{images-idx3,labels-idx1}-ubyte[.gz] (default: Debian's "
                                       "Fashion-MNIST)");
  cmd->add_option("--seed", opt->seed, "Seed of every random draw (LUT sampling, MTJ samples)")->capture_default_str();
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores); results do not depend on it");
  cmd->add_option("--read-lut", opt->read_lut,
                  "array_read bundle (xbarkit characterize characterization/array_read_7nm.toml): also report energy per "
                  "image, latency per image, area and a per-layer breakdown (array, drivers, converters, digital)");
  cmd->add_option("--adc-bits", opt->cost.adc.bits, "Costs: ADC resolution in bits (0 = full precision, log2(rows + 1))")
      ->capture_default_str();
  cmd->add_option("--adc-type", opt->cost.adc.type, "Costs: ADC architecture, sar | flash")->capture_default_str();
  cmd->add_option("--mtj-device", opt->cost.mtj_device, "Costs of mtj converters: the SOT-MTJ device (models/mtj/<name>.toml)")
      ->capture_default_str();
  cmd->add_option("--mtj-pulse-s", opt->cost.mtj_pulse_s, "Costs of mtj converters: write pulse (s)")->capture_default_str();
  cmd->add_option("--mtj-current-A", opt->cost.mtj_write_current_A,
                  "Costs of mtj converters: write current (A; 0 = the device's critical-current estimate)")
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "Print one JSON object (accuracy as a fraction, images, conducting_fraction, "
                                     "layers, ...)");
  cmd->callback([opt] {
    namespace nn = xbarkit::nn;
    namespace imc = xbarkit::imc;
    // Options that would otherwise be ignored or silently substituted are refused up front.
    if (opt->lut_mean && opt->array_lut.empty())
      throw xbarkit::InputError("", "--lut-mean", "needs --array-lut (it reads the LUT's mean current)");
    if (opt->lut_mean && opt->exact)
      throw xbarkit::InputError("", "--lut-mean", "does nothing with --exact (the circuit solver gives the currents)");
    if (opt->exact && !opt->array_lut.empty() && opt->converter != "calibrated")
      throw xbarkit::InputError("", "--array-lut",
                                "is not used with --exact unless --converter calibrated inverts its mean transfer; "
                                "drop one of them");
    if (!(opt->wire_scale >= 0) || !std::isfinite(opt->wire_scale))
      throw xbarkit::InputError("", "--wire-scale", fmt::format("must be a finite number >= 0, got {}", opt->wire_scale));
    const auto net_path = network_path(opt->network);
    const auto net = nn::load_network(net_path);
    const auto test = nn::load_fashion_mnist(opt->data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(opt->data),
                                             nn::Split::Test);
    imc::SimConfig cfg;
    cfg.mapping = imc::parse_mapping(opt->mapping);
    cfg.binsparx = imc::parse_binsparx(opt->binsparx);
    cfg.rows = opt->rows;
    cfg.cols = opt->cols;
    cfg.cell = opt->cell;
    cfg.wire_scale = opt->wire_scale;
    cfg.tech = opt->tech;
    cfg.converter = opt->converter;
    cfg.seed = opt->seed;
    cfg.lut_noise = !opt->lut_mean;
    if (!opt->array_lut.empty())
    {
      try {
        cfg.array_lut = std::make_shared<const xbarkit::lut::ArrayPsLut>(xbarkit::lut::ArrayPsLut::load(opt->array_lut));
      } catch (const nlohmann::json::exception& e) {
        // lut.json passed its digest, so it was written (or re-signed) with attributes of the wrong type.
        throw xbarkit::InputError(opt->array_lut + "/lut.json", "--array-lut",
                                  fmt::format("the array_ps tables' attributes have the wrong shape ({})", e.what()));
      }
      // The LUT's table for this cell and size must be for this wire scale: the nearest other one
      // would be used while the report names the requested scale. Scales are compared to 1e-9
      // relative (they are recipe numbers written with 17 digits).
      std::string scales;
      bool found = false, any = false;
      for (const auto& c : cfg.array_lut->configs()) {
        if (c.cell != opt->cell || c.rows != opt->rows) continue;
        any = true;
        scales += fmt::format("{}{:g}", scales.empty() ? "" : ", ", c.wire_scale);
        if (std::abs(c.wire_scale - opt->wire_scale) <= 1e-9 * std::max(1.0, std::abs(opt->wire_scale))) found = true;
      }
      if (any && !found)
        throw xbarkit::InputError(opt->array_lut, "--wire-scale",
                                  fmt::format("the bundle has no {} {}-row table for wire scale {:g} (it has {}); "
                                              "characterize that scale or pick one of these",
                                              opt->cell, opt->rows, opt->wire_scale, scales));
    }
    cfg.sensing = opt->exact ? imc::Sensing::exact : (cfg.array_lut ? imc::Sensing::lut : imc::Sensing::ideal);
    const auto software = net.predict_all(test, opt->images, opt->threads);
    const double software_accuracy = nn::Network::accuracy(software, test);
    const auto e = imc::evaluate(net, test, cfg, opt->images, opt->threads, &software);
    std::optional<xbarkit::cost::InferenceCost> costs;
    if (!opt->read_lut.empty()) {
      opt->cost.read_lut = opt->read_lut;
      costs = xbarkit::cost::inference_cost(e, net, xbarkit::netlist::load_technology(opt->tech), opt->cost);
    }
    if (opt->json) {
      auto j = e.to_json();
      if (costs) {
        const auto cj = costs->to_json();
        for (const auto& [k, v] : cj.items()) j[k] = v;
      }
      j["network"] = net_path.string();
      j["dataset"] = test.name;
      j["software_accuracy"] = software_accuracy;
      if (!opt->array_lut.empty()) j["array_lut"] = opt->array_lut;
      std::cout << j.dump(2) << "\n";
      return;
    }
    print_text(e, net.architecture().name, software_accuracy, opt->array_lut);
    if (costs) {
      std::cout << fmt::format("costs ({}; array from {}):\n  energy {:.4g} J/image, latency {:.4g} s/image, area {:.4g} mm^2\n",
                               costs->converter, costs->lut_table, costs->energy_per_image_J, costs->latency_per_image_s,
                               costs->area_m2 * 1e6);
      std::cout << fmt::format("  {:>5} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "layer", "array J", "drivers J", "convert J",
                               "digital J", "latency s");
      for (const auto& l : costs->layers)
        std::cout << fmt::format("  {:>5} {:>12.4g} {:>12.4g} {:>12.4g} {:>12.4g} {:>12.4g}\n", l.layer, l.array_J, l.drivers_J,
                                 l.converters_J, l.digital_J, l.latency_s);
      std::cout << "  assumptions: " << costs->assumptions << "\n";
    }
  });
});

}  // namespace
