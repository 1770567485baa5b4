#pragma once
// Numbers with SI prefixes and units as users type them on command lines ("150u", "150uA", "10ns",
// "1.5e-4"), and evenly spaced sweeps ("100u:300u:21"). Errors are InputErrors naming `what` (the
// option or key the text came from).
#include <string>
#include <string_view>
#include <vector>

namespace xbarkit {

// A finite number with an optional prefix (p, n, u, m, k, M, G) and an optional trailing `unit`.
double parse_si(std::string_view text, std::string_view unit, const std::string& what);

// "A:B:N" (N evenly spaced values from A to B inclusive, 1 <= N <= max_points) or "A,B,C".
std::vector<double> parse_si_sweep(std::string_view text, std::string_view unit, const std::string& what,
                                   size_t max_points = 100000);

}  // namespace xbarkit
