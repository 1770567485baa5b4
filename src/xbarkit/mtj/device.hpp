#pragma once
// SOT-MTJ device description (models/mtj/*.toml) and its derived quantities.
//
// Geometry convention: the free layer lies in the x-y plane, z is the film normal; the write current
// flows along +x in the heavy-metal strip under the free layer, so the spin-Hall polarization is
// sigma = +y (the sign of the torque follows the sign of spin_hall_angle and of the current).
// Easy axis z = perpendicular (type-z), y = in-plane parallel to sigma (type-y), x = in-plane along
// the current (type-x). All quantities are SI; the TOML keys carry their units.
#include <filesystem>
#include <optional>
#include <string>

#include "xbarkit/mtj/vec3.hpp"

namespace xbarkit::mtj {

enum class Shape { circle, ellipse, rectangle };

struct HeavyMetal {
  std::string material = "beta-W";
  double resistivity_ohm_m = 2.0e-6;
  double width_m = 0;      // across the current (along y)
  double thickness_m = 0;
  double length_m = 0;     // along the current, for the write-path resistance
  double spin_hall_angle = 0;
  double field_like_ratio = 0;  // beta_FL = H_FL / H_DL
  bool oersted = true;          // include the strip's Oersted field -I/(2 w) y at the free layer
};

struct Stt {  // optional spin-transfer torque from current through the MTJ stack
  double polarization = 0;      // 0 = off
  Vec3 reference{0, 0, 1};      // reference-layer magnetization (unit)
  double current_ratio = 0;     // I_MTJ = current_ratio * I_write
};

struct Vcma {  // optional voltage-controlled magnetic anisotropy, applied during the pulse
  double coefficient_J_per_V_m = 0;  // xi: dKi = -xi * V / t_ox
  double barrier_thickness_m = 1e-9;
  double voltage_V = 0;              // at full pulse amplitude (scaled by the pulse shape)
};

struct Device {
  std::string name;
  std::string description;
  std::string source_file;  // where it was loaded from ("" for programmatic devices)

  // free layer
  Shape shape = Shape::circle;
  double size_x_m = 50e-9;  // circle: diameter
  double size_y_m = 50e-9;
  double thickness_m = 1e-9;
  double ms_A_per_m = 1.0e6;
  double alpha = 0.02;
  double temperature_K = 300;

  // anisotropy: uniaxial field along the easy axis (interfacial 2Ki/(mu0 Ms t) plus any bulk H_K),
  // demagnetization as a diagonal tensor N (Nx + Ny + Nz = 1)
  int easy_axis = 2;  // 0 = x, 1 = y, 2 = z
  double hk_A_per_m = 0;
  Vec3 demag{0, 0, 1};

  HeavyMetal hm;
  Vec3 h_ext_A_per_m{0, 0, 0};
  Stt stt;
  Vcma vcma;

  double rp_ohm = 4000;
  double tmr = 1.5;

  double default_dt_s = 1e-12;  // [simulation] dt_s

  Vec3 easy_axis_vector() const {
    Vec3 u{0, 0, 0};
    u[easy_axis] = 1;
    return u;
  }
};

// Derived quantities of a device (printed by `xbarkit mtj info`).
struct Derived {
  double volume_m3;
  double area_m2;
  double hk_A_per_m;          // uniaxial anisotropy field (without demagnetization)
  double hk_eff_A_per_m;      // effective field of the lowest barrier path (with demagnetization)
  double stiffness1_A_per_m;  // restoring fields for the two transverse axes (hk_eff is the smaller)
  double stiffness2_A_per_m;
  double delta;               // thermal stability factor mu0 Ms Hk_eff V / (2 kB T), zero field
  double h_dl_per_A;          // damping-like SOT field per ampere of write current (A/m per A)
  double h_dl_c_A_per_m;      // critical damping-like field (T = 0 macrospin estimate)
  double ic0_A;               // write current giving h_dl_c
  std::string ic0_model;      // which closed form ic0 comes from
  double precession_GHz;      // small-angle ferromagnetic resonance at zero current
  double sigma_thermal_1ps;   // thermal-field standard deviation at dt = 1 ps (A/m)
  double r_hm_ohm;            // heavy-metal write-path resistance
  double rap_ohm;
};

Derived derive(const Device& d);

// Throws InputError naming the file and key of the first unphysical parameter.
void validate(const Device& d);

// Loads models/mtj/<name>.toml for a bare name ("sot_pma_7nm"), otherwise the given path.
Device load_device(const std::filesystem::path& toml);

// Demagnetization factors: general ellipsoid with semi-axes (a, b, c) (Osborn 1945, by quadrature)
// and rectangular prism with full sides (a, b, c) (Aharoni, J. Appl. Phys. 83, 3432, 1998).
Vec3 demag_ellipsoid(double a, double b, double c);
Vec3 demag_prism(double a, double b, double c);

// Brown thermal-field standard deviation per component for step dt (docs/REFERENCES.md §4).
double thermal_sigma(const Device& d, double dt_s);

// Largest field magnitude the device sees at zero current, and the precession period it implies;
// a step must resolve it (dt <= period / 10).
double max_precession_period_s(const Device& d, double extra_field_A_per_m = 0);

const char* axis_name(int axis);
const char* shape_name(Shape s);

}  // namespace xbarkit::mtj
