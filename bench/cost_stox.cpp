// The StoX-Net comparison with this project's own numbers (issue 19): bnn_cnn on 128-row sram8t
// tiles (XNOR mapping), a standard n-bit SAR ADC per column vs stochastic SOT-MTJ conversion with L
// samples. Accuracy from the simulator (ideal array currents; the ADC at full precision converts
// exactly, the MTJ through StoX-Net's logistic, "mtj:stox:L"), energy / latency / area per image from
// the array_read LUT and the peripheral models (cost/inference.hpp). Prints one markdown table for
// docs/VALIDATION.md.
//
//   bench_cost_stox READ_LUT [IMAGES=1000] [THREADS=0]
#include <cstdio>
#include <string>
#include <vector>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/cost/inference.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/nn/dataset.hpp"

using namespace xbarkit;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cost_stox READ_LUT [IMAGES] [THREADS]\n");
    return 2;
  }
  const std::string lut = argv[1];
  const size_t images = argc > 2 ? std::stoul(argv[2]) : 1000;
  const unsigned threads = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3])) : 0;
  const auto net = nn::load_network(source_dir() / "models/networks/bnn_cnn");
  const auto test = nn::load_fashion_mnist(nn::Split::Test);
  const auto tech = netlist::load_technology("7nm");
  struct Row {
    std::string name;
    double accuracy;
    cost::InferenceCost c;
  };
  std::vector<Row> rows;
  auto run = [&](const std::string& converter, int adc_bits, const std::string& label) {
    imc::SimConfig cfg;
    cfg.rows = 128;
    cfg.cell = "sram8t";
    cfg.converter = converter;
    cfg.seed = 1;
    const auto e = imc::evaluate(net, test, cfg, images, threads);
    cost::InferenceCostConfig cc;
    cc.read_lut = lut;
    cc.adc.bits = adc_bits;
    rows.push_back({label, e.accuracy, cost::inference_cost(e, net, tech, cc)});
  };
  run("ideal", 7, "SAR ADC, 7 bit (full precision for 64-input slices)");
  run("ideal", 4, "SAR ADC, 4 bit (low-bit; accuracy not simulated: the ideal converter's)");
  for (int l : {1, 4, 8}) run("mtj:stox:" + std::to_string(l), 0, "SOT-MTJ, L = " + std::to_string(l));
  std::printf("| converter | accuracy | energy/image (nJ) | latency/image (us) | area (mm^2) | EDP (nJ us) | conversion (fJ, ns) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows)
    std::printf("| %s | %.2f%% | %.4g | %.4g | %.4g | %.4g | %.4g, %.3g |\n", r.name.c_str(), 100 * r.accuracy,
                1e9 * r.c.energy_per_image_J, 1e6 * r.c.latency_per_image_s, 1e6 * r.c.area_m2,
                1e15 * r.c.energy_per_image_J * r.c.latency_per_image_s, 1e15 * r.c.conversion.energy_J,
                1e9 * r.c.conversion.latency_s);
  std::printf("\nratios ADC / MTJ (energy, latency, area, EDP):\n");
  for (size_t a = 0; a < 2; ++a)
    for (size_t m = 2; m < rows.size(); ++m) {
      const auto &A = rows[a].c, &M = rows[m].c;
      std::printf("| %s vs %s | %.3g | %.3g | %.3g | %.3g |\n", rows[a].name.substr(0, 13).c_str(), rows[m].name.c_str(),
                  A.energy_per_image_J / M.energy_per_image_J, A.latency_per_image_s / M.latency_per_image_s,
                  A.area_m2 / M.area_m2,
                  (A.energy_per_image_J * A.latency_per_image_s) / (M.energy_per_image_J * M.latency_per_image_s));
    }
  std::printf("\nper-layer breakdown of the 7-bit ADC and L = 4 runs (J per image):\n");
  for (size_t r : {size_t(0), size_t(3)})
    for (const auto& l : rows[r].c.layers)
      std::printf("| %s | layer %zu | array %.3g | drivers %.3g | converters %.3g | digital %.3g | latency %.3g s |\n",
                  rows[r].name.substr(0, 14).c_str(), l.layer, l.array_J, l.drivers_J, l.converters_J, l.digital_J, l.latency_s);
}
