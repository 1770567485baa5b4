#pragma once
// Process variation and corners in the one circuit description.
//
// Local mismatch is drawn per device and stored in the Crossbar (CellVariation), so every engine
// reads the same draws: the deck writer emits them as per-instance parameters, the native solvers
// evaluate each cell with its own devices.
//   - FinFET threshold mismatch, Pelgrom's law (Pelgrom, Duinmaijer and Welbers, IEEE JSSC 24(5),
//     1433, 1989): sigma(dVt) = A_VT / sqrt(W_eff L_eff nfin), W_eff and L_eff of one fin from the
//     technology, A_VT from [variation] of the technology or the recipe.
//   - Resistive devices (ReRAM, passive resistors): lognormal resistance, ln(R / R_nominal) ~
//     N(0, sigma_ln^2) with sigma per state (LRS for a stored 1, HRS for a 0). For the Stanford/ASU
//     ReRAM, R is proportional to exp(gap / g0), so this is a gap shift of g0 ln(R / R_nominal).
//   - Wires (optional, sigma_ln_wire): every line's per-segment resistance is lognormal, one draw per
//     line (each column's bitline and source line, each row's wordline), the same for all its
//     segments. A modelling assumption, not a measured fact: a line's width/thickness deviation is
//     taken as fully correlated along the line (line-to-line patterning and CMP variation), the
//     along-line roughness as averaged out over its many segments. No default value (no source at
//     hand): the technology's [variation] or a recipe sets sigma_ln_wire.
// A device's dVt enters the MVS equations only through Vgs' - Vt0 (docs/REFERENCES.md §1), so the
// native solver applies it exactly as a gate-voltage shift of -dVt.
//
// Global corners ([corners.<name>] of the technology: vdd, temperature, vt_shift in units of the
// global sigma vt_sigma_global) change the crossbar's supply, its transistors' temperature (the MVS
// thermal voltage phi_t = kT/q) and their Vt0. The Stanford/ASU ReRAM read model has no temperature
// dependence in its DC form, so a corner's temperature reaches ReRAM arrays only through the access
// transistor.
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace xbarkit {
class TomlSection;
}

namespace xbarkit::netlist {

struct BranchSpec;
struct Crossbar;
struct Technology;

// The technology's variation defaults ([variation] table).
struct VariationDefaults {
  double avt_V_m = 0;            // Pelgrom coefficient A_VT (V m; 1 mV um = 1e-9 V m)
  double sigma_ln_lrs = 0;       // ln-resistance sigma of a stored 1 (LRS)
  double sigma_ln_hrs = 0;       // ... of a stored 0 (HRS)
  double sigma_ln_wire = 0;      // ln-resistance sigma of a wire line (0: no wire spread)
  double vt_sigma_global_V = 0;  // global (die-to-die) Vt sigma that corners shift by
  std::string source;            // where the numbers come from (provenance)
};

struct Corner {
  std::string name;
  double vdd_V = 0;
  double temperature_K = 0;
  double vt_shift_sigma = 0;  // global Vt shift in units of vt_sigma_global
};

// What a recipe asks for ([variation] of a crossbar or characterization recipe).
struct VariationSpec {
  bool enabled = false;
  double avt_V_m = 0, sigma_ln_lrs = 0, sigma_ln_hrs = 0, sigma_ln_wire = 0;
  double scale = 1;       // multiplies every sigma (e.g. 3 for "3x the default")
  uint64_t seed = 1;
  std::string corner;     // empty: none (the technology's nominal values)
};

// Per-device draws of one crossbar: index (i * cols + j) * 2 + slot, slot 0 = the cell's first device
// (ladder: bitline side; grid: the cell), slot 1 = the second (ladder: source-line side).
struct CellVariation {
  std::vector<double> dvt_V;   // transistors: threshold-voltage shift (0 for other devices)
  std::vector<double> dln_r;   // resistive devices: ln(R / R_nominal) (0 for other devices)
  // Wire lines: ln(R / R_nominal) per column (bitline, source line) and per row (wordline); empty:
  // nominal wires.
  std::vector<double> ln_r_bitline, ln_r_sourceline, ln_r_wordline;
  bool empty() const { return dvt_V.empty() && dln_r.empty() && !wires(); }
  bool wires() const { return !ln_r_bitline.empty(); }
  // Resistance multipliers of a line's segments (1 without wire spread).
  double bitline_factor(int j) const { return wires() ? std::exp(ln_r_bitline[static_cast<size_t>(j)]) : 1.0; }
  double sourceline_factor(int j) const { return wires() ? std::exp(ln_r_sourceline[static_cast<size_t>(j)]) : 1.0; }
  double wordline_factor(int i) const { return wires() ? std::exp(ln_r_wordline[static_cast<size_t>(i)]) : 1.0; }
  double dvt(size_t cell, int slot) const { return dvt_V.empty() ? 0.0 : dvt_V[2 * cell + static_cast<size_t>(slot)]; }
  double ln_r(size_t cell, int slot) const { return dln_r.empty() ? 0.0 : dln_r[2 * cell + static_cast<size_t>(slot)]; }
};

// Device `slot` of cell `cell` (= i * cols + j) of `x` with its mismatch applied: a transistor's gate
// voltage shifted by -dVt (exact for the MVS equations, see above), a ReRAM's gap by g0 ln(R/R0), a
// resistor's resistance scaled by R/R0. Other devices are returned as they are.
BranchSpec apply_variation(BranchSpec device, const Crossbar& x, size_t cell, int slot);

// Reads [variation] (keys: enabled, avt_mV_um, sigma_ln_lrs, sigma_ln_hrs, sigma_ln_wire, scale, seed, corner) with
// the technology's defaults; refuses negative or unphysically large sigmas and unknown corners.
VariationSpec read_variation(const TomlSection& table, const Technology& tech);

// The technology's default sigmas times `scale`, enabled, with `seed` (what `xbarkit infer --variation`
// uses). Throws InputError naming `key` for a negative scale or one that makes a sigma too wide.
VariationSpec default_variation(const Technology& tech, double scale, uint64_t seed, const std::string& key = "scale");

// sigma(dVt) of one transistor of `x` (Pelgrom) for the spec, V.
double transistor_vt_sigma_V(const Crossbar& x, const VariationSpec& spec);

// Applies the spec's corner to `x` (supply, transistor temperature and global Vt shift).
void apply_corner(Crossbar& x, const Technology& tech, const std::string& corner);

// Draws every device's mismatch of `x` (its current weights decide LRS/HRS sigmas) into
// x.variation. Deterministic in (spec.seed, stream): device (i, j, slot) draws from its own stream,
// so the draws do not depend on the order of evaluation or the thread count. Throws InputError if a
// draw makes a device unphysical.
void draw_variation(Crossbar& x, const VariationSpec& spec, uint64_t stream = 0);

}  // namespace xbarkit::netlist
