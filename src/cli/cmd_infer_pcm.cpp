// xbarkit infer --network NET --cell pcm --pcm-time SECONDS [--gdc] ... : see cmd_infer_pcm.hpp.
#include "cmd_infer_pcm.hpp"

#include <chrono>
#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/real_model.hpp"
#include "xbarkit/nn/real_network.hpp"
#include "xbarkit/pcm/analog_engine.hpp"
#include "xbarkit/pcm/statistical_model.hpp"

namespace xbarkit::cli {

void add_pcm_infer_options(CLI::App* cmd, PcmInferOptions& o) {
  cmd->add_option("--pcm-time", o.time_s, "--cell pcm: seconds after programming at which the network is read (> 0; "
                                          "e.g. 25, 3600, 86400, 2.592e6, 3.1536e7)");
  cmd->add_flag("--gdc", o.gdc, "--cell pcm: global drift compensation, one digital scale per layer from a calibration "
                                "read (all rows at full scale) at t0 = 20 s and at --pcm-time (Joshi et al. 2020)");
  cmd->add_flag("--gdc-per-tile", o.gdc_per_tile, "--cell pcm: the same with one scale per tile");
  cmd->add_option("--programming-seed", o.programming_seed, "--cell pcm: seed of the (first) programming instance")
      ->capture_default_str();
  cmd->add_option("--pcm-instances", o.instances, "--cell pcm: programming instances (seeds S, S+1, ...): accuracy mean "
                                                  "and std over them")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--ir", o.ir, "--cell pcm: IR drop none | exact (circuit-exact: each tile factored once, its transfer from one "
                                "solve per row) | aihwkit "
                                "(analytical approximation); --exact = --ir exact; wires of the --tech [pcm] table x "
                                "--wire-scale");
  cmd->add_option("--pcm-model", o.model, "--cell pcm: PCM device file (models/pcm/<name>.toml or a path)")->capture_default_str();
  cmd->add_option("--weight-scaling", o.weight_scaling, "--cell pcm: max |W| -> G_max per column | layer")->capture_default_str();
  cmd->add_option("--read-noise", o.read_noise, "--cell pcm: 1/f read noise per-read (a new sample every read) | frozen "
                                                "(one draw per device per time, as aihwkit)")
      ->capture_default_str();
  cmd->add_option("--dac-bits", o.dac_bits, "--cell pcm: signed input DAC bits (0 = none)")->capture_default_str();
  cmd->add_option("--pcm-adc-bits", o.adc_bits, "--cell pcm: ADC bits per tile output (0 = none; default as aihwkit)")
      ->capture_default_str();
  cmd->add_option("--adc-bound", o.adc_bound, "--cell pcm: ADC full scale in units of G_max v_read (aihwkit out_bound)")
      ->capture_default_str();
  cmd->add_option("--bn-update", o.bn_update, "--cell pcm: recompute the batch-norm statistics from the first N training "
                                              "images through the PCM tiles (Joshi et al.'s BN update; 0 = off)");
}

void run_pcm_infer(const std::filesystem::path& net_path, const std::string& data_dir, size_t images, unsigned threads,
                   const imc::SimOptions& sim, bool json, const PcmInferOptions& o) {
  if (std::isnan(o.time_s)) throw InputError("", "--pcm-time", "--cell pcm needs --pcm-time SECONDS (time after programming, > 0)");
  if (!(o.time_s > 0) || !std::isfinite(o.time_s))
    throw InputError("", "--pcm-time", fmt::format("{} s: the time after programming must be finite and > 0", o.time_s));
  const auto toml = std::filesystem::path(net_path.string() + ".toml");
  if (!std::filesystem::exists(toml))
    throw InputError(toml.string(), "", "network architecture not found (--network NET names NET.toml + NET.safetensors)");
  if (!nn::is_real_architecture_file(toml))
    throw InputError(toml.string(), "format", "--cell pcm maps real-valued weights: the network must be format "
                                              "\"xbarkit-real-1\" (binary networks run on binary cells)");
  if (o.gdc && o.gdc_per_tile) throw InputError("", "--gdc-per-tile", "give --gdc or --gdc-per-tile, not both");
  pcm::AnalogEngineOptions eo;
  eo.origin = "xbarkit infer --cell pcm";
  eo.t_s = o.time_s;
  eo.rows_per_tile = sim.rows;
  eo.dac_bits = o.dac_bits, eo.adc_bits = o.adc_bits, eo.adc_bound = o.adc_bound;
  eo.scaling = pcm::parse_weight_scaling(o.weight_scaling);
  eo.read_noise = pcm::parse_read_noise(o.read_noise);
  eo.ir = o.ir.empty() ? (sim.exact ? pcm::IrMode::exact : pcm::IrMode::none) : pcm::parse_ir_mode(o.ir);
  if (sim.exact && eo.ir != pcm::IrMode::exact)
    throw InputError("", "--exact", fmt::format("contradicts --ir {}; give one of them", o.ir));
  eo.gdc = o.gdc ? pcm::GdcMode::layer : o.gdc_per_tile ? pcm::GdcMode::tile : pcm::GdcMode::off;
  eo.technology = sim.tech, eo.wire_scale = sim.wire_scale;
  eo.threads = threads;
  const auto model = pcm::load_pcm_model(o.model);

  const auto net = nn::RealNetwork::load(toml);
  const auto dir = data_dir.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(data_dir);
  const auto test = nn::load_fashion_mnist(dir, nn::Split::Test);
  const size_t n = images == 0 || images > test.count ? test.count : images;
  std::optional<nn::Dataset> train;
  if (o.bn_update > 0) train = nn::load_fashion_mnist(dir, nn::Split::Train);
  const auto matrices = net.weight_matrices();
  const auto start = std::chrono::steady_clock::now();
  const double software = net.accuracy(test, n, threads);
  std::vector<double> acc;
  std::vector<std::vector<double>> gdc_factors;
  size_t circuit_solves = 0, reads_per_image = 0;  // per programming instance (the same for each)
  double factorize_s = 0;
  for (int k = 0; k < o.instances; ++k) {
    eo.programming_seed = o.programming_seed + static_cast<uint64_t>(k);
    eo.read_seed = eo.programming_seed;
    const pcm::AnalogEngine engine(matrices, model, eo);
    circuit_solves = engine.circuit_solves(), factorize_s += engine.factorize_s();
    reads_per_image = engine.reads_per_image();
    std::vector<double> f;
    for (size_t l = 0; l < engine.layers(); ++l) {
      if (eo.gdc == pcm::GdcMode::tile)
        for (int t = 0; t < engine.tiles(l); ++t) f.push_back(engine.gdc_factor(l, t));
      else
        f.push_back(engine.gdc_factor(l));
    }
    gdc_factors.push_back(std::move(f));
    if (o.bn_update > 0) {
      // Keys of the calibration reads are disjoint from the test images' (0 .. n-1).
      const auto updated = net.with_updated_bn(*train, o.bn_update, &engine, threads, uint64_t{1} << 40);
      acc.push_back(updated.accuracy(test, n, threads, &engine));
    } else {
      acc.push_back(net.accuracy(test, n, threads, &engine));
    }
    if (!json)
      std::cout << fmt::format("programming seed {}: accuracy {:.2f}%\n", eo.programming_seed, 100 * acc.back());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double mean = 0, var = 0;
  for (double a : acc) mean += a / acc.size();
  for (double a : acc) var += (a - mean) * (a - mean);
  const double std_dev = acc.size() > 1 ? std::sqrt(var / (acc.size() - 1)) : 0.0;
  std::string compensation = eo.gdc == pcm::GdcMode::off ? "none" : eo.gdc == pcm::GdcMode::layer ? "gdc-layer" : "gdc-tile";
  if (o.bn_update > 0) compensation = compensation == "none" ? "bn-update" : compensation + "+bn-update";
  if (json) {
    nlohmann::json j;
    j["network"] = net_path.string();
    j["dataset"] = test.name;
    j["images"] = n;
    j["cell"] = "pcm";
    j["accuracy"] = mean;
    j["accuracy_std"] = std_dev;
    j["accuracies"] = acc;
    j["software_accuracy"] = software;
    j["pcm_time_s"] = eo.t_s;
    j["compensation"] = compensation;
    j["bn_update_images"] = o.bn_update;
    j["gdc_factors"] = gdc_factors;
    j["programming_seeds"] = {o.programming_seed, o.programming_seed + o.instances - 1};
    j["pcm_model"] = o.model;
    j["ir"] = pcm::to_string(eo.ir);
    j["rows"] = eo.rows_per_tile;
    j["tech"] = eo.technology;
    j["wire_scale"] = eo.wire_scale;
    j["weight_scaling"] = pcm::to_string(eo.scaling);
    j["read_noise"] = pcm::to_string(eo.read_noise);
    j["dac_bits"] = eo.dac_bits;
    j["adc_bits"] = eo.adc_bits;
    j["adc_bound"] = eo.adc_bound;
    // Exact IR drop: circuit solves are paid when a programming instance is built (one per tile row,
    // GDC's t0 read included); every tile read after that is the tile's exact transfer times the drive.
    j["circuit_solves_per_instance"] = circuit_solves;
    j["circuit_factorize_cpu_s_per_instance"] = factorize_s / o.instances;
    j["tile_reads_per_image"] = reads_per_image;
    j["seconds"] = seconds;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} on PCM ({}), t = {} s, compensation {}, IR {}, {} rows: accuracy {:.2f}% +- {:.2f}% over {} "
                           "programming instance(s), {} images (float network {:.2f}%), {:.1f} s\n",
                           net.architecture().name, o.model, eo.t_s, compensation, pcm::to_string(eo.ir), eo.rows_per_tile,
                           100 * mean, 100 * std_dev, acc.size(), n, 100 * software, seconds);
}

}  // namespace xbarkit::cli
