// xbarkit infer : a binary network on simulated crossbars (imc/simulator.hpp): mapping, BinSparX,
// sensing (ideal / array_ps LUT / exact native solver) and converter (ideal / ADC / SOT-MTJ).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd_infer_bit_sliced.hpp"
#include "cmd_infer_pcm.hpp"
#include "progress_cli.hpp"
#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/cost/inference.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/imc/sim_options.hpp"
#include "sim_options_cli.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/real_model.hpp"
#include "xbarkit/netlist/technology.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_infer {
namespace {

struct Options {
  std::string network = "models/networks/bnn_cnn";
  std::string data;
  xbarkit::imc::SimOptions sim;
  int chips = 1;
  bool json = false;
  xbarkit::ProgressMode progress = xbarkit::ProgressMode::automatic;
  size_t images = 0;
  size_t recalibrate_bn = 0;  // training images for batch-norm recalibration on the crossbar (0 = none)
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
  if (software_accuracy >= 0)
    std::cout << format("accuracy {:.2f}% (software {:.2f}%; {} of {} predictions differ from software)\n",
                        100 * e.accuracy, 100 * software_accuracy, e.disagreements, e.images);
  else
    std::cout << format("accuracy {:.2f}% (trained for stochastic partial-sum conversion: no software path)\n",
                        100 * e.accuracy);
  const auto& t = e.total;
  std::cout << format("conducting cells: {:.1f}% of the cells of a column read, {:.3f} per weight, {:.1f} per read",
                      100 * t.conducting_fraction(), t.conducting_per_weight(), t.mean_conducting_per_read());
  if (e.config.binsparx.static_flip || e.config.binsparx.dynamic_flip)
    std::cout << format("; without BinSparX {:.3f} per weight ({:.1f}% fewer with it)", t.conducting_per_weight_plain(),
                        100 * e.reduction());
  std::cout << "\n";
  if (e.config.binsparx.data_aware) {
    const auto& g = e.flip_calibration.guard;
    if (g.images == 0)
      std::cout << format("BinSparX data-aware flips chosen on {} training images (no guard)\n", e.flip_calibration.images);
    else
      std::cout << format("BinSparX data-aware flips chosen on {} training images; guard on {} more: {} correct with "
                          "them, {} without{} -> flips {}\n",
                          e.flip_calibration.images, g.images, g.correct_chosen, g.correct_none,
                          g.decided_early ? " (decided early)" : "", g.kept ? "kept" : e.config.binsparx.dynamic_flip ? "dropped (no static flips; dynamic flips stay)"
                                                                       : "dropped (plain mapping)");
  }
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
  auto pcm = std::make_shared<xbarkit::cli::PcmInferOptions>();
  auto sliced = std::make_shared<xbarkit::cli::BitSlicedInferOptions>();
  auto* cmd = app.add_subcommand(
      "infer", "Run a binary network on simulated crossbars: XNOR/AND mapping, BinSparX, ideal / LUT / exact sensing, "
               "ideal / ADC / SOT-MTJ converters; prints accuracy, conducting-cell statistics and per-layer "
               "partial-sum errors");
  cmd->add_option("--network", opt->network, "Network architecture path without extension (NET.toml + NET.safetensors)")
      ->capture_default_str();
  xbarkit::cli::add_sim_options(cmd, opt->sim, true);
  cmd->add_option("--chips", opt->chips, "Monte-Carlo over N chips (with --variation, N >= 2): accuracy mean and std "
                                        "over chips (JSON: chips.accuracy_mean, chips.accuracy_std, chips.accuracy)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--images", opt->images, "Use the first N test images (0 = all)");
  cmd->add_option("--recalibrate-bn", opt->recalibrate_bn,
                  "Before evaluating, set every binary layer's batch-norm statistics to those of this crossbar's own "
                  "outputs over the first N training images (layer by layer; never test images), e.g. for an "
                  "MTJ-aware network at a sampling length other than the one it was trained at (0 = off)");
  cmd->add_option("--data", opt->data, "Directory with t10k-{images-idx3,labels-idx1}-ubyte[.gz] (default: Debian's "
                                       "Fashion-MNIST)");
  cmd->add_option("--seed", opt->seed, "Seed of every random draw (LUT sampling, MTJ samples)")->capture_default_str();
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores); results do not depend on it");
  cmd->add_option("--read-lut", opt->read_lut,
                  "array_read bundle (xbarkit characterize characterization/array_read_7nm.toml): also report energy per "
                  "image, latency per image, area and a per-layer breakdown (array, drivers, converters, digital)");
  cmd->add_option("--adc-bits", opt->cost.adc.bits, "Costs: ADC resolution in bits (0 = an adc:BUNDLE converter's own, else full precision, log2(rows + 1))")
      ->capture_default_str();
  cmd->add_option("--adc-type", opt->cost.adc.type, "Costs: ADC architecture, sar | flash")->capture_default_str();
  cmd->add_option("--mtj-device", opt->cost.mtj_device, "Costs of mtj converters: the SOT-MTJ device (models/mtj/<name>.toml)")
      ->capture_default_str();
  cmd->add_option("--mtj-pulse-s", opt->cost.mtj_pulse_s, "Costs of mtj converters: write pulse (s)")->capture_default_str();
  cmd->add_option("--mtj-current-A", opt->cost.mtj_write_current_A,
                  "Costs of mtj converters: write current (A; 0 = the device's critical-current estimate)")
      ->capture_default_str();
  xbarkit::cli::add_pcm_infer_options(cmd, *pcm);
  xbarkit::cli::add_bit_sliced_infer_options(cmd, *sliced);
  xbarkit::cli::add_progress_options(cmd, opt->progress);
  cmd->add_flag("--json", opt->json, "Print one JSON object (accuracy as a fraction, images, conducting_fraction, "
                                     "layers, ...)");
  cmd->callback([opt, pcm, sliced, cmd] {
    namespace nn = xbarkit::nn;
    namespace imc = xbarkit::imc;
    if (opt->sim.cell == "pcm") {  // real-valued weights on analog PCM tiles: cmd_infer_pcm.cpp
      if (opt->recalibrate_bn > 0)
        throw xbarkit::InputError("", "--recalibrate-bn", "is for binary networks on crossbars; with --cell pcm the "
                                                          "batch-norm update is --bn-update N");
      if (opt->chips > 1)
        throw xbarkit::InputError("", "--chips", "does not apply to --cell pcm (use --pcm-instances N for programming "
                                                 "instances)");
      if (cmd->count("--weight-bits") + cmd->count("--input-bits") + cmd->count("--weight-encoding") > 0)
        throw xbarkit::InputError("", "--weight-bits", "bit slicing is for binary cells; PCM stores analog conductances "
                                                       "(its input resolution is --dac-bits)");
      xbarkit::cli::run_pcm_infer(network_path(opt->network), opt->data, opt->images, opt->threads, opt->sim, opt->json, *pcm);
      return;
    }
    if (pcm->given())
      throw xbarkit::InputError("", "--cell", "the PCM options (--pcm-time, --gdc, --ir, --bn-update, --pcm-instances, --programming-seed, --pcm-model, --weight-scaling, --read-noise, --dac-bits, --pcm-adc-bits, --adc-bound) apply to --cell pcm");
    const bool real_network = xbarkit::nn::is_real_architecture_file(network_path(opt->network).string() + ".toml");
    if (real_network) {  // real-valued weights bit-sliced onto binary cells: cmd_infer_bit_sliced.cpp
      for (const char* o : {"--recalibrate-bn", "--chips", "--read-lut"})
        if (cmd->count(o) > 0)
          throw xbarkit::InputError("", o, "is not available for real-valued networks on binary cells (bit-sliced inference)");
      // Bit-sliced weights are read with one row per input bit: the AND mapping, the default here.
      if (cmd->count("--mapping") == 0) opt->sim.mapping = "and";
      opt->sim.seed = opt->seed;
      xbarkit::cli::run_bit_sliced_infer(network_path(opt->network), opt->data, opt->images, opt->threads, opt->sim,
                                         opt->json, *sliced);
      return;
    }
    if (cmd->count("--weight-bits") + cmd->count("--input-bits") + cmd->count("--weight-encoding") > 0)
      throw xbarkit::InputError("", "--weight-bits", "--weight-bits, --input-bits and --weight-encoding apply to real-valued "
                                                     "networks (format xbarkit-real-1) on binary cells");
    opt->sim.seed = opt->seed;
    const imc::SimConfig cfg = imc::make_sim_config(opt->sim);
    if (opt->chips > 1 && opt->sim.variation < 0)
      throw xbarkit::InputError("", "--chips", "needs --variation (chips differ only by their device mismatch)");
    if (opt->recalibrate_bn > 0 && cfg.binsparx.data_aware)
      throw xbarkit::InputError("", "--recalibrate-bn",
                                "cannot be combined with data-aware BinSparX flips (static-data, both-data): the flips "
                                "are chosen from the network's activations, which the recalibration changes");
    if (opt->recalibrate_bn > 0 && opt->chips > 1)
      throw xbarkit::InputError("", "--recalibrate-bn",
                                "recalibrates for one chip; with --chips every chip would need its own (run the chips one "
                                "at a time with --variation-seed)");
    const auto net_path = network_path(opt->network);
    const auto trained = nn::load_network(net_path);
    const auto data_dir = opt->data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(opt->data);
    const auto test = nn::load_fashion_mnist(data_dir, nn::Split::Test);
    // Batch-norm recalibration on this crossbar (imc::Simulator::recalibrate_batch_norm).
    std::optional<nn::Network> recalibrated;
    double recal_s = 0;
    size_t recal_images = 0;
    if (opt->recalibrate_bn > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto train = nn::load_fashion_mnist(data_dir, nn::Split::Train);
      recal_images = std::min(opt->recalibrate_bn, train.count);
      const imc::Simulator sim(trained, cfg);
      recalibrated = sim.recalibrate_batch_norm(train, opt->recalibrate_bn, opt->threads);
      recal_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const nn::Network& net = recalibrated ? *recalibrated : trained;
    // A network trained for stochastic conversion has no software path to compare with (-1).
    std::vector<int> software;
    double software_accuracy = -1;
    if (!net.stochastic_psum()) {
      software = trained.predict_all(test, opt->images, opt->threads);
      software_accuracy = nn::Network::accuracy(software, test);
    }
    const std::vector<int>* sw = software.empty() ? nullptr : &software;
    imc::Evaluation e;
    std::optional<imc::ChipStudy> chips;
    const size_t images = opt->images == 0 || opt->images > test.count ? test.count : opt->images;
    xbarkit::ProgressReporter progress("infer", "images", images * size_t(std::max(1, opt->chips)), opt->progress);
    if (opt->chips > 1)  // the report's evaluation is chip 0's
      chips = imc::evaluate_chips(net, test, cfg, opt->images, opt->threads, opt->chips, sw, &e, &progress);
    else
      e = imc::evaluate(net, test, cfg, opt->images, opt->threads, sw, &progress);
    progress.finish();
    std::optional<xbarkit::cost::InferenceCost> costs;
    if (!opt->read_lut.empty()) {
      opt->cost.read_lut = opt->read_lut;
      costs = xbarkit::cost::inference_cost(e, net, xbarkit::netlist::load_technology(opt->sim.tech), opt->cost);
    }
    if (opt->json) {
      auto j = e.to_json();
      if (chips) j["chips"] = chips->to_json();
      if (costs) {
        const auto cj = costs->to_json();
        for (const auto& [k, v] : cj.items()) j[k] = v;
      }
      if (cfg.array_lut && cfg.sensing == imc::Sensing::lut) {
        const auto& lc = cfg.array_lut->find(cfg.cell, cfg.rows, cfg.wire_scale, cfg.corner);
        if (lc.variation.is_object())
          j["variation"] = {{"mode", "marginalized over chips: every read draws from the LUT's spread, which "
                                     "includes device mismatch"},
                            {"lut_variation", lc.variation}};
      }
      j["network"] = net_path.string();
      if (recalibrated)
        j["bn_recalibration"] = {{"training_images", recal_images}, {"seconds", recal_s}};
      j["dataset"] = test.name;
      j["software_accuracy"] = software_accuracy >= 0 ? nlohmann::json(software_accuracy) : nlohmann::json();
      if (!opt->sim.array_lut.empty()) j["array_lut"] = opt->sim.array_lut;
      std::cout << j.dump(2) << "\n";
      return;
    }
    print_text(e, net.architecture().name, software_accuracy, opt->sim.array_lut);
    if (recalibrated)
      std::cout << fmt::format("batch norm recalibrated on this crossbar over {} training images ({:.1f} s); the software "
                               "accuracy and agreement refer to the trained statistics\n",
                               recal_images, recal_s);
    if (chips)
      std::cout << fmt::format("over {} chips (first seed {}): accuracy {:.2f}% +- {:.2f}% (mean +- std), {:.1f} s\n",
                               chips->accuracy.size(), chips->seeds.front(), 100 * chips->accuracy_mean,
                               100 * chips->accuracy_std, chips->seconds);
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
}  // namespace xbarkit::cli::cmd_infer
