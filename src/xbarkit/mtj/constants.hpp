#pragma once
// Physical constants (CODATA 2018 exact SI values where exact) and the gyromagnetic constant of
// docs/REFERENCES.md §4: gamma0 = mu0 * gamma = 2.2128e5 m/(A s).
namespace xbarkit::mtj::phys {

inline constexpr double mu0 = 1.25663706212e-6;     // T m / A
inline constexpr double kB = 1.380649e-23;          // J / K
inline constexpr double hbar = 1.054571817e-34;     // J s
inline constexpr double e = 1.602176634e-19;        // C
inline constexpr double gamma0 = 2.2128e5;          // m / (A s), docs/REFERENCES.md §4
inline constexpr double pi = 3.14159265358979323846;

}  // namespace xbarkit::mtj::phys
