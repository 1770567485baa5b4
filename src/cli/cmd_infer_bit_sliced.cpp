// xbarkit infer --network NET --cell sram8t --weight-bits B --input-bits A ... : see cmd_infer_bit_sliced.hpp.
#include "cmd_infer_bit_sliced.hpp"

#include <chrono>
#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/bit_sliced.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/real_network.hpp"

namespace xbarkit::cli {

void add_bit_sliced_infer_options(CLI::App* cmd, BitSlicedInferOptions& o) {
  cmd->add_option("--weight-bits", o.weight_bits, "Real-valued networks on binary cells: signed weight bits, one binary "
                                                  "column per bit (bit-sliced, shift-and-add), per-output scaling")
      ->capture_default_str();
  cmd->add_option("--input-bits", o.input_bits, "Real-valued networks on binary cells: input magnitude bits, one "
                                                "bit-serial read per bit (positive and negative inputs in two passes)")
      ->capture_default_str();
  cmd->add_option("--weight-encoding", o.encoding, "Real-valued networks on binary cells: twos-complement (b columns) | "
                                                   "differential (2(b-1) columns: positive and negative magnitudes)")
      ->capture_default_str();
}

void run_bit_sliced_infer(const std::filesystem::path& net_path, const std::string& data_dir, size_t images,
                          unsigned threads, const imc::SimOptions& sim, bool json, const BitSlicedInferOptions& o) {
  const auto toml = std::filesystem::path(net_path.string() + ".toml");
  imc::BitSlicing slicing;
  slicing.weight_bits = o.weight_bits;
  slicing.input_bits = o.input_bits;
  slicing.encoding = imc::parse_weight_encoding(o.encoding);
  const auto cfg = imc::make_sim_config(sim);
  const auto net = nn::RealNetwork::load(toml);
  const auto dir = data_dir.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(data_dir);
  const auto test = nn::load_fashion_mnist(dir, nn::Split::Test);
  const size_t n = images == 0 || images > test.count ? test.count : images;
  const auto matrices = net.weight_matrices();
  const imc::BitSlicedEngine engine(matrices, cfg, slicing);
  const auto start = std::chrono::steady_clock::now();
  const double software = net.accuracy(test, n, threads);
  const double accuracy = net.accuracy(test, n, threads, &engine);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto stats = engine.stats();
  int64_t reads = 0;
  for (const auto& s : stats) reads += s.reads;
  const std::string sensing = cfg.sensing == imc::Sensing::lut ? (cfg.lut_noise ? "lut" : "lut-mean") : "ideal";
  if (json) {
    nlohmann::json j;
    j["network"] = net_path.string();
    j["dataset"] = test.name;
    j["images"] = n;
    j["accuracy"] = accuracy;
    j["software_accuracy"] = software;
    j["mapping"] = "bit-sliced";
    j["cell"] = cfg.cell;
    j["rows"] = cfg.rows;
    j["cols"] = cfg.cols > 0 ? cfg.cols : cfg.rows;
    j["wire_scale"] = cfg.wire_scale;
    j["weight_bits"] = slicing.weight_bits;
    j["input_bits"] = slicing.input_bits;
    j["weight_encoding"] = imc::to_string(slicing.encoding);
    j["columns_per_output"] = engine.columns_per_output();
    j["sensing"] = sensing;
    j["converter"] = engine.converter().name();
    if (!sim.array_lut.empty()) j["array_lut"] = sim.array_lut, j["lut_table"] = engine.lut_table();
    j["seed"] = cfg.seed;
    j["reads_per_image"] = double(reads) / double(n);
    auto& layers = j["layers"] = nlohmann::json::array();
    for (size_t l = 0; l < stats.size(); ++l) {
      const auto& s = stats[l];
      layers.push_back({{"layer", matrices[l].name},
                        {"tiles", engine.tiles(l)},
                        {"reads", s.reads},
                        {"conducting_per_read", s.reads ? double(s.conducting) / double(s.reads) : 0.0},
                        {"count_rmse", s.count_rmse()},
                        {"count_wrong_fraction", s.reads ? double(s.count_wrong) / double(s.reads) : 0.0}});
    }
    j["seconds"] = seconds;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{} bit-sliced on {} tiles of {} rows ({}-bit weights, {}, {} columns per output; {}-bit "
                           "bit-serial inputs), sensing {}, converter {}: accuracy {:.2f}% on {} images (float network "
                           "{:.2f}%), {:.0f} column reads per image, {:.1f} s\n",
                           net.architecture().name, cfg.cell, cfg.rows, slicing.weight_bits,
                           imc::to_string(slicing.encoding), engine.columns_per_output(), slicing.input_bits, sensing,
                           engine.converter().name(), 100 * accuracy, n, 100 * software, double(reads) / double(n), seconds);
  std::cout << fmt::format("  {:>16} {:>6} {:>14} {:>10} {:>11} {:>8}\n", "layer", "tiles", "reads", "cond/read",
                           "count rmse", "wrong");
  for (size_t l = 0; l < stats.size(); ++l) {
    const auto& s = stats[l];
    std::cout << fmt::format("  {:>16} {:>6} {:>14} {:>10.2f} {:>11.3f} {:>7.2f}%\n", matrices[l].name, engine.tiles(l),
                             s.reads, s.reads ? double(s.conducting) / double(s.reads) : 0.0, s.count_rmse(),
                             s.reads ? 100.0 * double(s.count_wrong) / double(s.reads) : 0.0);
  }
}

}  // namespace xbarkit::cli
