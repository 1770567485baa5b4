#pragma once
// A CBRAM / electrochemical-metallization (ECM) cell as a stochastic switch (models/cbram/*.toml).
//
// Filament formation under a SET pulse of amplitude V is a Poisson process: the first conducting
// bridge forms after an exponentially distributed waiting time of mean tau(V), so a pulse of width t
// switches the cell with probability
//     P_sw(V, t) = 1 - exp(-t / tau(V)),   tau(V) = tau0 * exp(-V / V0)
// (Jo, Kim & Lu 2009; Gaba et al. 2013: docs/REFERENCES.md §19). Variation enters through tau0:
//   - device to device: ln(tau0_device / tau0) ~ N(0, tau0_d2d_sigma_ln^2), drawn once per cell;
//   - cycle to cycle: a further lognormal factor exp(sigma_c2c * z) redrawn every pulse, on top of the
//     Poisson randomness (which is itself the intrinsic cycle-to-cycle randomness the papers measure).
// Between bits the cell is RESET; a RESET fails with reset_failure_probability, leaving the cell in
// its low-resistance state so that the next bit reads 1 whatever the pulse (bits become correlated).
// All quantities are SI; TOML keys carry their units.
#include <filesystem>
#include <string>
#include <vector>

namespace xbarkit::cbram {

struct Device {
  std::string name;
  std::string description;
  std::string source_file;  // where it was loaded from ("" for programmatic devices)

  double tau0_s = 2.85e5;           // [switching] tau0_s
  double v0_V = 0.156;              // [switching] v0_V
  double tau0_d2d_sigma_ln = 0;     // [variation]
  double tau0_c2c_sigma_ln = 0;     // [variation]
  double reset_failure_probability = 0;  // [variation]
  double program_voltage_V = 3.0;   // [operation] SET amplitude of the stream generator
  double max_pulse_s = 0.02;        // [operation] longest SET pulse the driver makes
  double read_voltage_V = 0.1;      // [operation] non-disturbing read (tau(V_read) must be >> pulses)

  // Mean waiting time to filament formation at V for the nominal cell (tau0 as in the file).
  double tau_s(double voltage_V) const;
};

// Loads models/cbram/<name>.toml (or a path). Refuses, naming file and key: missing or unknown keys,
// non-positive or non-finite constants, sigmas outside [0, 3], a reset-failure probability outside
// [0, 1), and operating points that are unphysical for the model (tau at the program voltage below
// the ~1e-13 s ionic attempt time, or a read voltage that would switch the cell within 1 s).
Device load_device(const std::filesystem::path& name_or_path);

// Checks a (possibly programmatic) device; throws InputError(file, key, problem). load_device calls it.
void validate(const Device& d);

// ---- Closed forms --------------------------------------------------------------------------------

// P_sw of a cell whose tau0 is tau0_s * tau0_factor (1 = nominal), averaged over the cycle-to-cycle
// lognormal factor of d (Gauss-Hermite quadrature; exact 1 - exp(-t/tau) when sigma_c2c = 0).
double p_switch(const Device& d, double voltage_V, double pulse_s, double tau0_factor = 1.0);

// P_sw averaged over the device population too (device-to-device and cycle-to-cycle lognormals
// combine into one lognormal of sigma^2 = sigma_d2d^2 + sigma_c2c^2).
double p_switch_population(const Device& d, double voltage_V, double pulse_s);

// The pulse width that makes p_switch(d, V, t, tau0_factor) = p, for 0 <= p < 1 (0 for p = 0).
// Throws xbarkit::Error for p outside [0, 1) (p = 1 needs an infinite pulse).
double pulse_for_probability(const Device& d, double p, double voltage_V, double tau0_factor = 1.0);

// E[f(exp(sigma z))] for z ~ N(0, 1) by 40-point Gauss-Hermite quadrature.
double lognormal_expectation(double sigma, double (*f)(double factor, const void* ctx), const void* ctx);

}  // namespace xbarkit::cbram
