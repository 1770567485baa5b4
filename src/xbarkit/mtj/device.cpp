#include "xbarkit/mtj/device.hpp"

#include <algorithm>
#include <cmath>

#include <boost/math/special_functions/ellint_rd.hpp>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/mtj/constants.hpp"

namespace xbarkit::mtj {

const char* axis_name(int axis) { return axis == 0 ? "x" : axis == 1 ? "y" : "z"; }
const char* shape_name(Shape s) {
  return s == Shape::circle ? "circle" : s == Shape::ellipse ? "ellipse" : "rectangle";
}

Vec3 demag_ellipsoid(double a, double b, double c) {
  // Osborn (Phys. Rev. 67, 351, 1945) in Carlson form: N_a = (abc/3) R_D(b^2, c^2, a^2).
  using boost::math::ellint_rd;
  const double abc3 = a * b * c / 3.0;
  return {abc3 * ellint_rd(b * b, c * c, a * a), abc3 * ellint_rd(c * c, a * a, b * b),
          abc3 * ellint_rd(a * a, b * b, c * c)};
}

namespace {

// Aharoni (J. Appl. Phys. 83, 3432, 1998), eq. (1): D_z of a prism 2a x 2b x 2c.
double aharoni_dz(double a, double b, double c) {
  const double r = std::sqrt(a * a + b * b + c * c);
  const double ab = std::sqrt(a * a + b * b), bc = std::sqrt(b * b + c * c), ac = std::sqrt(a * a + c * c);
  double s = (b * b - c * c) / (2 * b * c) * std::log((r - a) / (r + a));
  s += (a * a - c * c) / (2 * a * c) * std::log((r - b) / (r + b));
  s += b / (2 * c) * std::log((ab + a) / (ab - a));
  s += a / (2 * c) * std::log((ab + b) / (ab - b));
  s += c / (2 * a) * std::log((bc - b) / (bc + b));
  s += c / (2 * b) * std::log((ac - a) / (ac + a));
  s += 2 * std::atan(a * b / (c * r));
  s += (a * a * a + b * b * b - 2 * c * c * c) / (3 * a * b * c);
  s += (a * a + b * b - 2 * c * c) / (3 * a * b * c) * r;
  s += c / (a * b) * (ac + bc);
  s -= (ab * ab * ab + bc * bc * bc + ac * ac * ac) / (3 * a * b * c);
  return s / phys::pi;
}

}  // namespace

Vec3 demag_prism(double a, double b, double c) {
  return {aharoni_dz(b / 2, c / 2, a / 2), aharoni_dz(c / 2, a / 2, b / 2), aharoni_dz(a / 2, b / 2, c / 2)};
}

double thermal_sigma(const Device& d, double dt_s) {
  const double volume = derive(d).volume_m3;
  return std::sqrt(2.0 * d.alpha * phys::kB * d.temperature_K /
                   (phys::mu0 * phys::gamma0 * d.ms_A_per_m * volume * dt_s));
}

double max_precession_period_s(const Device& d, double extra_field_A_per_m) {
  // Anisotropy + demagnetization field is linear in m with the diagonal matrix Hk u u^T - Ms N, so
  // its magnitude is bounded by the largest |eigenvalue|; external and extra fields add on top.
  double hlin = 0;
  for (int i = 0; i < 3; ++i)
    hlin = std::max(hlin, std::abs((i == d.easy_axis ? d.hk_A_per_m : 0.0) - d.ms_A_per_m * d.demag[i]));
  const double hmax = hlin + norm(d.h_ext_A_per_m) + std::abs(extra_field_A_per_m);
  const double gp = phys::gamma0 / (1 + d.alpha * d.alpha);
  return 2 * phys::pi / (gp * std::sqrt(1 + d.alpha * d.alpha) * hmax);
}

Derived derive(const Device& d) {
  Derived r{};
  const double area = d.shape == Shape::rectangle ? d.size_x_m * d.size_y_m : phys::pi / 4 * d.size_x_m * d.size_y_m;
  r.area_m2 = area;
  r.volume_m3 = area * d.thickness_m;
  r.hk_A_per_m = d.hk_A_per_m;
  const int u = d.easy_axis, v1 = (u + 1) % 3, v2 = (u + 2) % 3;
  const double hb = d.h_ext_A_per_m[u];  // bias along the easy axis stiffens (or softens) both
  const double s1 = d.hk_A_per_m + d.ms_A_per_m * (d.demag[v1] - d.demag[u]);
  const double s2 = d.hk_A_per_m + d.ms_A_per_m * (d.demag[v2] - d.demag[u]);
  r.stiffness1_A_per_m = std::min(s1, s2) + hb;
  r.stiffness2_A_per_m = std::max(s1, s2) + hb;
  r.hk_eff_A_per_m = std::min(s1, s2);
  r.delta = phys::mu0 * d.ms_A_per_m * r.hk_eff_A_per_m * r.volume_m3 / (2 * phys::kB * d.temperature_K);
  const double area_hm = d.hm.width_m * d.hm.thickness_m;
  r.h_dl_per_A = area_hm > 0 ? phys::hbar * d.hm.spin_hall_angle /
                                   (2 * phys::e * phys::mu0 * d.ms_A_per_m * d.thickness_m) / area_hm
                             : 0.0;
  // Critical damping-like field at T = 0. The damping-like torque per ampere is the SOT along
  // sigma = +y plus, when the stack carries spin-transfer current, the Slonczewski term along the
  // reference layer p with a_J = hbar P I_MTJ / (2 e mu0 Ms t_F A) (Slonczewski, JMMM 159, L1, 1996).
  const Vec3 sigma{0, 1, 0};
  double a_j_per_A = 0;
  if (d.stt.polarization > 0 && d.stt.current_ratio != 0)
    a_j_per_A = phys::hbar * d.stt.polarization * d.stt.current_ratio /
                (2 * phys::e * phys::mu0 * d.ms_A_per_m * d.thickness_m * area);
  const Vec3 q = r.h_dl_per_A * sigma + a_j_per_A * d.stt.reference;
  const double q_u = std::abs(q[u]), q_n = norm(q);
  if (q_n > 0 && q_u > 0.5 * q_n) {
    // Torque (mostly) collinear with the easy axis: anti-damping instability (Sun, PRB 62, 570, 2000):
    // H_DL,c = alpha (H1 + H2) / 2 with H1, H2 the transverse stiffness fields; the collinear part of
    // the torque per ampere sets the current.
    r.h_dl_c_A_per_m = d.alpha * (s1 + s2 + 2 * hb) / 2;
    r.ic0_model = a_j_per_A != 0 ? "anti-damping, SOT + STT along the easy axis: alpha (H1 + H2) / 2 (Sun 2000)"
                                  : "anti-damping: alpha (H1 + H2) / 2 (Sun 2000)";
    r.ic0_A = r.h_dl_c_A_per_m / q_u;
  } else {
    // sigma perpendicular to the easy axis: Lee et al. (APL 102, 112410, 2013), high-damping
    // macrospin limit H_DL,c = Hk_eff/2 - H_b/sqrt(2), with H_b the bias along u x sigma.
    const Vec3 uv = d.easy_axis_vector();
    const double hx = std::abs(dot(d.h_ext_A_per_m, cross(uv, sigma)));
    r.h_dl_c_A_per_m = r.hk_eff_A_per_m / 2 - hx / std::sqrt(2.0);
    r.ic0_model = "Lee et al. 2013: Hk_eff/2 - H_bias/sqrt(2)";
    r.ic0_A = r.h_dl_per_A != 0 ? std::abs(r.h_dl_c_A_per_m / r.h_dl_per_A) : INFINITY;
  }
  // Small-angle resonance (Kittel) about the easy axis: f = gamma' sqrt(H1 H2) / (2 pi)... in the
  // Landau-Lifshitz form the precession rate is gamma0/(1+alpha^2) * sqrt(H1 H2).
  const double gp = phys::gamma0 / (1 + d.alpha * d.alpha);
  r.precession_GHz = gp * std::sqrt(std::max(0.0, r.stiffness1_A_per_m * r.stiffness2_A_per_m)) / (2 * phys::pi) * 1e-9;
  r.sigma_thermal_1ps = std::sqrt(2.0 * d.alpha * phys::kB * d.temperature_K /
                                  (phys::mu0 * phys::gamma0 * d.ms_A_per_m * r.volume_m3 * 1e-12));
  r.r_hm_ohm = area_hm > 0 ? d.hm.resistivity_ohm_m * d.hm.length_m / area_hm : 0.0;
  r.rap_ohm = d.rp_ohm * (1 + d.tmr);
  return r;
}

void validate(const Device& d) {
  const std::string& f = d.source_file;
  auto bad = [&](const char* key, const std::string& why) { throw InputError(f, key, why); };
  // Infinite sizes or fields pass every "> 0" check below and then stall the demagnetization
  // quadrature and the integrators; refuse them first.
  auto finite = [&](const char* key, double v) {
    if (!std::isfinite(v)) bad(key, fmt::format("must be a finite number, got {}", v));
  };
  finite("free_layer.thickness_nm", d.thickness_m);
  finite("free_layer.size_x_nm", d.size_x_m);
  finite("free_layer.size_y_nm", d.size_y_m);
  finite("free_layer.ms_A_per_m", d.ms_A_per_m);
  finite("free_layer.temperature_K", d.temperature_K);
  finite("anisotropy.hk", d.hk_A_per_m);
  finite("heavy_metal.width_nm", d.hm.width_m);
  finite("heavy_metal.thickness_nm", d.hm.thickness_m);
  finite("heavy_metal.length_nm", d.hm.length_m);
  finite("heavy_metal.resistivity_uohm_cm", d.hm.resistivity_ohm_m);
  finite("heavy_metal.spin_hall_angle", d.hm.spin_hall_angle);
  for (int i = 0; i < 3; ++i) {
    finite("external_field", d.h_ext_A_per_m[i]);
    finite("stt.reference", d.stt.reference[i]);
  }
  finite("stt.current_ratio", d.stt.current_ratio);
  finite("mtj.rp_ohm", d.rp_ohm);
  finite("mtj.tmr", d.tmr);
  finite("simulation.dt_s", d.default_dt_s);
  if (!(d.ms_A_per_m > 0)) bad("free_layer.ms_A_per_m", fmt::format("saturation magnetization must be > 0, got {}", d.ms_A_per_m));
  if (!(d.alpha > 0)) bad("free_layer.alpha", fmt::format("Gilbert damping must be > 0, got {}", d.alpha));
  if (!(d.alpha <= 10)) bad("free_layer.alpha", fmt::format("Gilbert damping {} is unphysically large", d.alpha));
  if (!(d.temperature_K >= 0)) bad("free_layer.temperature_K", fmt::format("temperature must be >= 0 K, got {}", d.temperature_K));
  if (!(d.thickness_m > 0)) bad("free_layer.thickness_nm", fmt::format("must be > 0 (zero volume), got {} nm", d.thickness_m * 1e9));
  const char* kx = d.shape == Shape::circle ? "free_layer.diameter_nm" : "free_layer.size_x_nm";
  if (!(d.size_x_m > 0)) bad(kx, fmt::format("must be > 0 (zero volume), got {} nm", d.size_x_m * 1e9));
  if (!(d.size_y_m > 0)) bad("free_layer.size_y_nm", fmt::format("must be > 0 (zero volume), got {} nm", d.size_y_m * 1e9));
  for (int i = 0; i < 3; ++i)
    if (!(d.demag[i] >= 0 && d.demag[i] <= 1)) bad("demag.n", "each demagnetization factor must be in [0, 1]");
  if (std::abs(d.demag[0] + d.demag[1] + d.demag[2] - 1) > 1e-3 && std::abs(d.demag[0] + d.demag[1] + d.demag[2]) > 0)
    bad("demag.n", fmt::format("factors must sum to 1 (or all be 0 to switch demagnetization off), got {}",
                               d.demag[0] + d.demag[1] + d.demag[2]));
  if (!(d.hm.width_m > 0)) bad("heavy_metal.width_nm", "must be > 0");
  if (!(d.hm.thickness_m > 0)) bad("heavy_metal.thickness_nm", "must be > 0");
  if (!(d.hm.length_m >= 0)) bad("heavy_metal.length_nm", "must be >= 0");
  if (!(d.hm.resistivity_ohm_m > 0)) bad("heavy_metal.resistivity_uohm_cm", "must be > 0");
  if (!(std::abs(d.hm.spin_hall_angle) <= 10)) bad("heavy_metal.spin_hall_angle", "magnitude must be <= 10");
  if (!std::isfinite(d.hm.field_like_ratio)) bad("heavy_metal.field_like_ratio", "must be finite");
  if (!(d.rp_ohm > 0)) bad("mtj.rp_ohm", "must be > 0");
  if (!(d.tmr >= 0)) bad("mtj.tmr", "must be >= 0");
  if (!(d.stt.polarization >= 0 && d.stt.polarization < 1)) bad("stt.polarization", "must be in [0, 1)");
  if (!(d.vcma.barrier_thickness_m > 0)) bad("vcma.barrier_thickness_nm", "must be > 0");
  if (!(d.default_dt_s > 0)) bad("simulation.dt_s", "must be > 0");
  const double period = max_precession_period_s(d);
  if (d.default_dt_s > period / 10)
    bad("simulation.dt_s", fmt::format("time step {:.3g} s exceeds a tenth of the shortest precession period "
                                       "({:.3g} s); use dt <= {:.3g} s",
                                       d.default_dt_s, period, period / 10));
  const auto der = derive(d);
  if (!(der.hk_eff_A_per_m > 0))
    bad("anisotropy", fmt::format("no stable easy axis: effective anisotropy field along {} is {:.4g} A/m "
                                  "(demagnetization exceeds the uniaxial anisotropy)",
                                  axis_name(d.easy_axis), der.hk_eff_A_per_m));
}

namespace {

double positive(const TomlSection& s, std::string_view key) {
  const double v = s.require_number(key);
  if (!(v > 0)) throw s.error(key, fmt::format("must be > 0, got {}", v));
  return v;
}

Vec3 vec3(const TomlSection& s, std::string_view key, Vec3 fallback) {
  auto v = s.number_array(key);
  if (!v) return fallback;
  if (v->size() != 3) throw s.error(key, fmt::format("expected 3 numbers [x, y, z], got {}", v->size()));
  return {(*v)[0], (*v)[1], (*v)[2]};
}

}  // namespace

Device load_device(const std::filesystem::path& toml) {
  std::filesystem::path path = toml;
  if (!path.has_extension() && !path.has_parent_path()) path = models_dir() / "mtj" / (toml.string() + ".toml");
  if (!std::filesystem::exists(path))
    throw InputError(path.string(), "", "device file not found (give a path or a name in models/mtj/)");
  const auto doc = TomlDocument::from_file(path);
  const auto root = doc.root();
  Device d;
  d.source_file = path.string();

  if (auto dev = root.table("device")) {
    d.name = dev->string("name").value_or(path.stem().string());
    d.description = dev->string("description").value_or("");
    dev->string_array("sources");  // provenance, free text
    dev->reject_unknown_keys();
  } else {
    d.name = path.stem().string();
  }

  const auto fl = root.require_table("free_layer");
  const auto shape = fl.string("shape").value_or("circle");
  if (shape == "circle") {
    d.shape = Shape::circle;
    d.size_x_m = d.size_y_m = fl.require_number("diameter_nm") * 1e-9;
  } else if (shape == "ellipse" || shape == "rectangle") {
    d.shape = shape == "ellipse" ? Shape::ellipse : Shape::rectangle;
    d.size_x_m = fl.require_number("size_x_nm") * 1e-9;
    d.size_y_m = fl.require_number("size_y_nm") * 1e-9;
  } else {
    throw fl.error("shape", fmt::format("unknown shape '{}' (circle, ellipse or rectangle)", shape));
  }
  d.thickness_m = fl.require_number("thickness_nm") * 1e-9;
  d.ms_A_per_m = fl.require_number("ms_A_per_m");
  d.alpha = fl.require_number("alpha");
  d.temperature_K = fl.number("temperature_K").value_or(300.0);
  fl.reject_unknown_keys();

  const auto an = root.require_table("anisotropy");
  const auto axis = an.require_string("easy_axis");
  if (axis == "x") d.easy_axis = 0;
  else if (axis == "y") d.easy_axis = 1;
  else if (axis == "z") d.easy_axis = 2;
  else throw an.error("easy_axis", fmt::format("expected \"x\", \"y\" or \"z\", got \"{}\"", axis));
  double hk = 0;
  if (auto ki = an.number("ki_J_per_m2")) {
    if (d.easy_axis != 2) throw an.error("ki_J_per_m2", "interfacial anisotropy is perpendicular: needs easy_axis = \"z\"");
    if (d.ms_A_per_m > 0 && d.thickness_m > 0) hk += 2 * *ki / (phys::mu0 * d.ms_A_per_m * d.thickness_m);
  }
  if (auto b = an.number("mu0_hk_T")) hk += *b / phys::mu0;
  d.hk_A_per_m = hk;
  an.reject_unknown_keys();

  // Shape-derived demagnetization unless given.
  if (d.size_x_m > 0 && d.size_y_m > 0 && d.thickness_m > 0)
    d.demag = d.shape == Shape::rectangle ? demag_prism(d.size_x_m, d.size_y_m, d.thickness_m)
                                          : demag_ellipsoid(d.size_x_m / 2, d.size_y_m / 2, d.thickness_m / 2);
  if (auto dm = root.table("demag")) {
    d.demag = vec3(*dm, "n", d.demag);
    dm->reject_unknown_keys();
  }

  const auto hm = root.require_table("heavy_metal");
  d.hm.material = hm.string("material").value_or("beta-W");
  d.hm.resistivity_ohm_m = hm.require_number("resistivity_uohm_cm") * 1e-8;
  d.hm.width_m = hm.require_number("width_nm") * 1e-9;
  d.hm.thickness_m = hm.require_number("thickness_nm") * 1e-9;
  d.hm.length_m = hm.number("length_nm").value_or(d.hm.width_m * 1e9) * 1e-9;
  d.hm.spin_hall_angle = hm.require_number("spin_hall_angle");
  d.hm.field_like_ratio = hm.number("field_like_ratio").value_or(0.0);
  d.hm.oersted = hm.boolean("oersted").value_or(true);
  hm.reject_unknown_keys();

  if (auto b = root.table("bias")) {
    d.h_ext_A_per_m = (1.0 / phys::mu0) * vec3(*b, "mu0_h_T", {0, 0, 0});
    b->reject_unknown_keys();
  }
  if (auto m = root.table("mtj")) {
    d.rp_ohm = m->number("rp_ohm").value_or(d.rp_ohm);
    d.tmr = m->number("tmr").value_or(d.tmr);
    m->reject_unknown_keys();
  }
  if (auto s = root.table("stt")) {
    d.stt.polarization = s->require_number("polarization");
    const Vec3 p = vec3(*s, "reference", {0, 0, 1});
    if (!(norm(p) > 0)) throw s->error("reference", "must be a non-zero vector");
    d.stt.reference = normalized(p);
    d.stt.current_ratio = s->require_number("current_ratio");
    s->reject_unknown_keys();
  }
  if (auto v = root.table("vcma")) {
    d.vcma.coefficient_J_per_V_m = v->require_number("coefficient_fJ_per_V_m") * 1e-15;
    d.vcma.barrier_thickness_m = positive(*v, "barrier_thickness_nm") * 1e-9;
    d.vcma.voltage_V = v->require_number("voltage_V");
    v->reject_unknown_keys();
  }
  if (auto s = root.table("simulation")) {
    d.default_dt_s = s->number("dt_s").value_or(d.default_dt_s);
    s->reject_unknown_keys();
  }
  root.reject_unknown_keys();
  validate(d);
  return d;
}

}  // namespace xbarkit::mtj
