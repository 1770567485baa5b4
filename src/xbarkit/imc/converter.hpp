#pragma once
// Partial-sum converters: the sensed column current of one tile column read -> a conducting-count
// estimate (an integer in [0, max_count]), from which the digital side forms the partial sum.
//
//   ideal          count = round(I / I_cell) (I_cell: one conducting cell at ideal wire voltages)
//   adc:BUNDLE     n-bit current-mode ADC from an `adc` bundle (characterize/kind_adc.cpp): column j
//                  of a tile uses ADC instance j mod (instances); code = number of its thresholds
//                  <= I; count = the code's partial_sum (codes table), rounded.
//   mtj:BUNDLE:L   stochastic SOT-MTJ conversion (StoX-Net, REFERENCE.md §5). The column current is
//                  normalized to x = 2 I / (I_cell n_tile) − 1 ∈ [−1, 1] (n_tile = inputs per tile)
//                  and mapped linearly onto the MTJ's write current, I_w = I50 + 2a·s·x with the
//                  bundle's logistic fit (I50, s) and a = 4, so P_sw follows (1 + tanh(a x)) / 2 as
//                  in StoX-Net when the device is logistic. Each read takes L Bernoulli samples of
//                  the device's P_sw(I_w) (the bundle's measured P_sw table when it has one, else the
//                  fit); their mean p̂ (clamped to [1/2L, 1 − 1/2L]) is inverted through the
//                  calibrated logistic back to x̂ and to a count. As L grows p̂ -> P_sw and the count
//                  -> the ideal converter's. L may differ per binary layer: "mtj:B:4,8,16" (the last
//                  value repeats for later layers). BUNDLE may name a fit: DIR@sot_pma_7nm_10ns
//                  (default: the bundle's first logistic fit); the measured curve is that fit's
//                  device and pulse row of the "<device>_psw" table (characterize/kind_mtj_psw.cpp).
//                  "mtj:stox:L" uses the ideal StoX-Net logistic (no bundle).
//   calibrated     an ideal-resolution converter calibrated to the array's mean transfer: count =
//                  the k whose LUT mean current I_mean(k) (transfer table of the array_ps bundle) is
//                  nearest to I. Needs --array-lut; removes the systematic IR-drop loss, not the
//                  pattern-dependent spread.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xbarkit/core/rng.hpp"

namespace xbarkit::lut { class ArrayPsLut; struct ArrayPsConfig; }

namespace xbarkit::imc {

struct ConvertContext {
  int column = 0;          // column index inside its tile
  int max_count = 0;       // slice inputs (largest possible count)
  int tile_capacity = 0;   // inputs per full tile (n_tile)
  int layer_slot = 0;      // ordinal of the binary layer (0 = first crossbar layer)
};

class Converter {
public:
  virtual ~Converter() = default;
  virtual std::string name() const = 0;
  // Count estimate from the sensed current (A). Thread-safe; draws randomness only from `rng`.
  virtual int count(double current_A, const ConvertContext& ctx, Rng& rng) const = 0;
  // True when count(c · I_cell) == c for every c (no quantization, no noise).
  virtual bool exact_on_ideal_currents() const { return false; }
};

struct ConverterSetup {
  double cell_current_A = 0;                      // I_cell of the simulated array
  int rows = 0;                                   // R of the simulated array
  std::shared_ptr<const lut::ArrayPsLut> array;   // for "calibrated"
  const lut::ArrayPsConfig* array_config = nullptr;
};

// Parses "ideal" | "calibrated" | "adc:BUNDLE" | "mtj:BUNDLE:L[,L2,...]" | "mtj:stox:L..." and loads
// what it names. Errors name the spec and what to fix.
std::unique_ptr<Converter> make_converter(const std::string& spec, const ConverterSetup& setup);

// Exposed for tests.
std::unique_ptr<Converter> make_ideal_converter(double cell_current_A);
std::vector<int> parse_sampling_lengths(const std::string& s);  // "4" or "4,8,16"

}  // namespace xbarkit::imc
