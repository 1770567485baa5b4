#include "xbarkit/imc/converter.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

// Every imc/converter_<suffix>.cpp defines link_converter_<suffix>() (XBARKIT_REGISTER_CONVERTER);
// CMake generates the list (converter_plugins.inc), so a new converter touches only its own file.
#define XBARKIT_PLUGIN(suffix) void link_converter_##suffix();
namespace xbarkit::imc {
#include "converter_plugins.inc"
}
#undef XBARKIT_PLUGIN

namespace xbarkit::imc {

namespace {
std::vector<ConverterType>& registry() {
  static std::vector<ConverterType> r;
  return r;
}
const std::vector<ConverterType>& all() {
  static const bool linked = [] {
#define XBARKIT_PLUGIN(suffix) link_converter_##suffix();
#include "converter_plugins.inc"
#undef XBARKIT_PLUGIN
    std::sort(registry().begin(), registry().end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return true;
  }();
  (void)linked;
  return registry();
}
}  // namespace

RegisterConverter::RegisterConverter(ConverterType type) { registry().push_back(std::move(type)); }

int Converter::sample_ones(double, const ConvertContext&, Rng&) const {
  throw Error(fmt::format("converter {} does not sample: a network trained for stochastic partial-sum conversion "
                          "needs a sampling converter (mtj:BUNDLE:L)", name()));
}

double Converter::switch_probability(double, const ConvertContext&) const {
  throw Error(fmt::format("converter {} does not sample", name()));
}

const std::vector<ConverterType>& converter_types() { return all(); }

std::string converter_usages(std::string_view separator) {
  std::string out;
  for (const auto& t : all()) out += (out.empty() ? "" : std::string(separator)) + t.usage;
  return out;
}

int clamp_round(double c, int max_count) {
  if (!(c > 0)) return 0;  // also NaN
  const double r = std::nearbyint(c);
  return r >= max_count ? max_count : int(r);
}

void reject_arguments(const std::string& name, const std::string& args) {
  if (!args.empty()) throw Error(fmt::format("converter '{}' takes no arguments, got '{}:{}'", name, name, args));
}

std::vector<int> parse_sampling_lengths(const std::string& s) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = s.find(',', pos);
    const std::string part = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(part, &used);
    } catch (...) {
      used = 0;
    }
    if (part.empty() || used != part.size() || v < 1 || v > 1000000)
      throw Error(fmt::format("MTJ sampling length '{}' in '{}' must be an integer in [1, 1000000]", part, s));
    out.push_back(int(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::unique_ptr<Converter> make_converter(const std::string& spec, const ConverterSetup& setup) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon), args = colon == std::string::npos ? "" : spec.substr(colon + 1);
  for (const auto& t : all())
    if (t.name == name) return t.make(args, setup);
  throw Error(fmt::format("unknown converter '{}' ({})", spec, converter_usages()));
}

}  // namespace xbarkit::imc
