#pragma once
// Energy, latency and area of an inference run (issue 19): the simulator's per-layer read counts
// (imc::Evaluation) priced with the array_read LUT (characterize/kind_array_read.cpp) for the array
// and the peripheral models of peripherals.hpp for the rest.
//
// Per binary layer l and image, with S slices driven (tile activations), R tile-column reads of
// mean conducting count k, rows_used rows per read, P physical tiles (slice tiles x column tiles):
//   array (bitlines)   R * E_col(k)                       (the LUT at the reads' mean count)
//   drivers (wordlines) S * ceil(outputs / cols) * a * E_row, a = active rows per activation
//                       (XNOR: rows_used / 2 exactly; AND: rows_used / 2, an assumption)
//   converters          R * E_conversion                  (ADC or L SOT-MTJ samples per read)
//   digital             R * (accumulator add + register) + outputs * (sign comparison)
// Latency (assumption, stated in the report): the tiles of a layer read in parallel, every column
// has its own converter, a tile handles its input vectors one after another, and layers run one
// after another (no inter-layer pipelining):
//   t_l = positions_l * (t_read + t_conversion + t_accumulate),  t_image = sum_l t_l.
// Area: P tiles x (rows x cols cells, cols converters and accumulators, rows wordline drivers); the
// cell area is its wire segment lengths (bitline x wordline pitch, the same geometry that sets the
// wire resistances of models/tech/7nm.toml).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/cost/peripherals.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/nn/network.hpp"

namespace xbarkit::cost {

struct InferenceCostConfig {
  std::string read_lut;          // array_read bundle directory
  // For ideal/calibrated/adc converters; bits 0 = an adc:BUNDLE converter's own resolution, else full
  // precision, log2(rows + 1) bits.
  AdcSpec adc = [] {
    AdcSpec a;
    a.bits = 0;
    return a;
  }();
  std::string mtj_device = "sot_pma_7nm";  // for mtj converters (models/mtj/<name>.toml)
  double mtj_pulse_s = 2e-9;     // the write pulse (the shortest pulse of characterization/mtj_psw_7nm.toml)
  double mtj_write_current_A = 0;  // 0: the device's critical-current estimate ic0
};

struct LayerCost {
  size_t layer = 0;
  double array_J = 0, drivers_J = 0, converters_J = 0, digital_J = 0;  // per image
  double latency_s = 0;                                                // per image
  double area_m2 = 0;
  int64_t tiles = 0;
  double reads_per_image = 0, mean_k = 0;
  double energy_J() const { return array_J + drivers_J + converters_J + digital_J; }
};

struct InferenceCost {
  std::string converter;         // "sar 4-bit ADC", "SOT-MTJ, L = 4", ...
  double energy_per_image_J = 0;
  double latency_per_image_s = 0;
  double area_m2 = 0;
  std::vector<LayerCost> layers;
  double read_latency_s = 0, read_row_energy_J = 0;
  Cost conversion;               // one column conversion
  std::string lut_table;
  std::string assumptions;
  nlohmann::ordered_json to_json() const;
};

InferenceCost inference_cost(const imc::Evaluation& e, const nn::Network& net, const netlist::Technology& tech,
                             const InferenceCostConfig& config);

}  // namespace xbarkit::cost
