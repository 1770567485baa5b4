#include "xbarkit/core/units.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit {

namespace {
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t p; (p = s.find(sep, start)) != std::string_view::npos; start = p + 1) out.push_back(s.substr(start, p - start));
  out.push_back(s.substr(start));
  return out;
}
}  // namespace

double parse_si(std::string_view text, std::string_view unit, const std::string& what) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range)
    throw InputError("", what, fmt::format("'{}' is not finite (out of the range of a double)", text));
  if (ec != std::errc() || end == text.data())
    throw InputError("", what, fmt::format("'{}' is not a number", text));
  std::string_view rest(end, static_cast<size_t>(text.data() + text.size() - end));
  if (!unit.empty() && rest.size() >= unit.size() && rest.substr(rest.size() - unit.size()) == unit)
    rest.remove_suffix(unit.size());
  double scale = 1;
  if (rest.empty()) scale = 1;
  else if (rest == "p") scale = 1e-12;
  else if (rest == "n") scale = 1e-9;
  else if (rest == "u") scale = 1e-6;
  else if (rest == "m") scale = 1e-3;
  else if (rest == "k") scale = 1e3;
  else if (rest == "M") scale = 1e6;
  else if (rest == "G") scale = 1e9;
  else
    throw InputError("", what, fmt::format("'{}': unknown unit suffix '{}' (use p, n, u, m, k, M, G, optionally followed "
                                           "by {})", text, rest, unit));
  const double out = v * scale;
  if (!std::isfinite(out)) throw InputError("", what, fmt::format("'{}' is not finite", text));
  return out;
}

std::vector<double> parse_si_sweep(std::string_view text, std::string_view unit, const std::string& what,
                                   size_t max_points) {
  std::vector<double> out;
  if (text.find(':') != std::string_view::npos) {
    const auto parts = split(text, ':');
    if (parts.size() != 3) throw InputError("", what, fmt::format("'{}': expected A:B:N", text));
    const double a = parse_si(parts[0], unit, what), b = parse_si(parts[1], unit, what);
    unsigned long long n = 0;
    const auto [end, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), n);
    if (ec != std::errc() || end != parts[2].data() + parts[2].size() || n < 1)
      throw InputError("", what, fmt::format("'{}': N must be a positive integer", text));
    if (n > max_points) throw InputError("", what, fmt::format("'{}': N = {} is more than {} points", text, n, max_points));
    if (n == 1 && a != b) throw InputError("", what, fmt::format("'{}': N = 1 needs A = B", text));
    for (unsigned long long k = 0; k < n; ++k) out.push_back(n == 1 ? a : a + (b - a) * double(k) / double(n - 1));
  } else {
    for (const auto p : split(text, ',')) out.push_back(parse_si(p, unit, what));
    if (out.size() > max_points) throw InputError("", what, fmt::format("{} values: more than {}", out.size(), max_points));
  }
  return out;
}

}  // namespace xbarkit
