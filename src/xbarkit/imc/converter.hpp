#pragma once
// Partial-sum converters: the sensed column current of one tile column read -> a conducting-count
// estimate (an integer in [0, max_count]), from which the digital side forms the partial sum.
//
// Converters are plugins: each is one file, imc/converter_<name>.cpp, which documents its model and
// registers itself (XBARKIT_REGISTER_CONVERTER); a spec "NAME[:ARGS]" selects one (converter_types()
// lists them: ideal, calibrated, adc:BUNDLE, mtj:BUNDLE:L, ...).
#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "xbarkit/core/rng.hpp"

namespace xbarkit::lut { class ArrayPsLut; struct ArrayPsConfig; }

namespace xbarkit::imc {

// StoX-Net's logistic steepness a: P_sw = (1 + tanh(a·x)) / 2 for the normalized device input x
// (Rogers et al., arXiv 2407.12378); the mtj converter maps partial sums onto the device with it.
inline constexpr double kMtjLogisticA = 4.0;

struct ConvertContext {
  int column = 0;          // column index inside its tile
  int tile = 0;            // input slice (tile) of the layer, and which tile of C columns holds the output
  int column_group = 0;
  int max_count = 0;       // slice inputs (largest possible count)
  int tile_capacity = 0;   // inputs per full tile (n_tile)
  int layer_slot = 0;      // ordinal of the binary layer (0 = first crossbar layer)
  int tile_columns = 0;    // C: columns per tile (a chip holds one converter per column)
  uint64_t chip = 0;       // which chip of a characterized converter population (SimConfig::chip)
  // The layer's learned partial-sum affine for this output channel (networks trained for stochastic
  // conversion, nn/model.hpp); identity otherwise.
  double psum_gain = 1.0, psum_offset = 0.0;
};

class Converter {
public:
  virtual ~Converter() = default;
  virtual std::string name() const = 0;
  // Count estimate from the sensed current (A). Thread-safe; draws randomness only from `rng`.
  virtual int count(double current_A, const ConvertContext& ctx, Rng& rng) const = 0;
  // True when count(c · I_cell) == c for every c (no quantization, no noise).
  virtual bool exact_on_ideal_currents() const { return false; }
  // Converters whose count is a fixed, non-decreasing step function of the current (no randomness):
  // count(I) = min(max_count, #{k : thresholds[k] <= I}) with `thresholds` ascending. They fill it and
  // return true; the others return false (expectations over their output are then sampled).
  virtual bool step_thresholds(const ConvertContext& /*ctx*/, std::vector<double>& thresholds) const {
    thresholds.clear();
    return false;
  }
  // Sampling converters (StoX-Net's SOT-MTJ) can hand over their raw samples instead of a count
  // estimate: the number of switching events among L Bernoulli draws at this read, with the layer's
  // learned affine applied at the device input. A network trained for it (psum tensors) uses the
  // samples directly: the read's output is 2·ones − L, and the layer's output is scaled by 1/L.
  virtual int sampling_length(int /*layer_slot*/) const { return 0; }  // 0: not a sampling converter
  virtual int sample_ones(double current_A, const ConvertContext& ctx, Rng& rng) const;
  // The switching probability p of each of those samples at this read: sample_ones counts
  // rng.uniform() < p over L draws (so a caller may tabulate p and draw the same numbers itself).
  virtual double switch_probability(double current_A, const ConvertContext& ctx) const;

  // Per-column step converters (an ADC population: each column its own thresholds, no randomness)
  // can expose their transfer so the simulator resolves which threshold row a column uses once per
  // (chip, layer) instead of at every read:
  //   count(I, ctx) == min(ctx.max_count, step_counts()[#{k : row[k] <= I}]),
  //   row = step_table() + step_row(ctx) · step_levels()  (ascending).
  virtual int step_levels() const { return 0; }  // 0: not a per-column step converter
  virtual const double* step_table() const { return nullptr; }
  virtual size_t step_table_rows() const { return 0; }
  virtual const int* step_counts() const { return nullptr; }  // step_levels() + 1 counts, >= 0
  virtual size_t step_row(const ConvertContext& /*ctx*/) const { return 0; }
};

struct ConverterSetup {
  double cell_current_A = 0;                      // I_cell of the simulated array
  int rows = 0;                                   // R of the simulated array
  std::shared_ptr<const lut::ArrayPsLut> array;   // for "calibrated"
  const lut::ArrayPsConfig* array_config = nullptr;
};

// A registered converter: spec "name[:args]"; make() parses args and loads what they name.
struct ConverterType {
  std::string name;         // "adc"
  std::string usage;        // "adc:BUNDLE"
  std::string description;  // one line for help texts
  std::function<std::unique_ptr<Converter>(const std::string& args, const ConverterSetup& setup)> make;
};
struct RegisterConverter {
  explicit RegisterConverter(ConverterType type);
};
const std::vector<ConverterType>& converter_types();  // sorted by name
std::string converter_usages(std::string_view separator = " | ");

// Parses "NAME[:ARGS]" with the registered converters and loads what it names. Errors name the spec
// and what to fix.
std::unique_ptr<Converter> make_converter(const std::string& spec, const ConverterSetup& setup);

// Helpers for converter files (and tests).
std::unique_ptr<Converter> make_ideal_converter(double cell_current_A);
std::vector<int> parse_sampling_lengths(const std::string& s);  // "4" or "4,8,16"
int clamp_round(double count, int max_count);                   // nearest integer in [0, max_count]; NaN -> 0
void reject_arguments(const std::string& name, const std::string& args);

}  // namespace xbarkit::imc

// In a converter file imc/converter_<suffix>.cpp:
//   XBARKIT_REGISTER_CONVERTER(suffix, "name", "usage", "description", factory)
#define XBARKIT_REGISTER_CONVERTER(suffix, ...)                                  \
  void link_converter_##suffix() { static const RegisterConverter registration(ConverterType{__VA_ARGS__}); }
