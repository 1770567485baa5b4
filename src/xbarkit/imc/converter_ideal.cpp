// Converter "ideal": count = round(I / I_cell), I_cell one conducting cell at ideal wire voltages.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/converter.hpp"

namespace xbarkit::imc {
namespace {

class IdealConverter : public Converter {
public:
  explicit IdealConverter(double cell) : inv_cell_(1.0 / cell) {}
  std::string name() const override { return "ideal"; }
  int count(double current_A, const ConvertContext& ctx, Rng&) const override {
    return clamp_round(current_A * inv_cell_, ctx.max_count);
  }
  bool exact_on_ideal_currents() const override { return true; }
  bool step_thresholds(const ConvertContext& ctx, std::vector<double>& th) const override {
    th.resize(size_t(std::max(0, ctx.max_count)));
    for (size_t k = 0; k < th.size(); ++k) th[k] = (double(k) + 0.5) / inv_cell_;
    return true;
  }

private:
  double inv_cell_;
};

}  // namespace

std::unique_ptr<Converter> make_ideal_converter(double cell_current_A) {
  if (!(cell_current_A > 0)) throw Error(fmt::format("ideal converter: cell current {} A must be > 0", cell_current_A));
  return std::make_unique<IdealConverter>(cell_current_A);
}

XBARKIT_REGISTER_CONVERTER(ideal, "ideal", "ideal", "round(I / I_cell): no calibration, no noise",
                           [](const std::string& args, const ConverterSetup& setup) {
                             reject_arguments("ideal", args);
                             return make_ideal_converter(setup.cell_current_A);
                           })

}  // namespace xbarkit::imc
