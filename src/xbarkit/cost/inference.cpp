#include "xbarkit/cost/inference.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::cost {

namespace {

// 77 ohm/um: the ASAP7 M1-M3 wire of docs/REFERENCES.md §2 that the per-cell resistances assume.
constexpr double kWireOhmPerM = 77e6;

// The array_read table of this cell, tile size and wire scale (exact match; the error lists what
// the bundle has).
const lut::Table& read_table(const lut::Bundle& b, const std::string& dir, const imc::SimConfig& c) {
  const int cols = c.cols > 0 ? c.cols : c.rows;
  std::string have;
  for (const auto& t : b.tables) {
    const auto& a = t.attributes;
    if (!a.contains("role") || a.at("role") != "array_read") continue;
    have += fmt::format("{}{}", have.empty() ? "" : ", ", t.name());
    if (a.at("cell") == c.cell && a.at("rows").get<int>() == c.rows && a.at("cols").get<int>() == cols &&
        std::abs(a.at("wire_scale").get<double>() - c.wire_scale) <= 1e-9 * std::max(1.0, c.wire_scale))
      return t;
  }
  throw InputError(dir, "--read-lut",
                   fmt::format("no array_read table for {} {}x{} at wire scale {:g} (the bundle has: {}); characterize "
                               "that configuration (characterization/array_read_7nm.toml)",
                               c.cell, c.rows, cols, c.wire_scale, have.empty() ? "none" : have));
}

}  // namespace

nlohmann::ordered_json InferenceCost::to_json() const {
  nlohmann::ordered_json j;
  j["energy_per_image_J"] = energy_per_image_J;
  j["latency_per_image_s"] = latency_per_image_s;
  j["area_m2"] = area_m2;
  j["converter"] = converter;
  j["conversion"] = {{"energy_J", conversion.energy_J}, {"latency_s", conversion.latency_s}, {"area_m2", conversion.area_m2}};
  j["array_read"] = {{"table", lut_table}, {"latency_s", read_latency_s}, {"wordline_energy_per_row_J", read_row_energy_J}};
  auto layers_j = nlohmann::ordered_json::array();
  nlohmann::ordered_json total = {{"array_J", 0.0}, {"drivers_J", 0.0}, {"converters_J", 0.0}, {"digital_J", 0.0}};
  for (const auto& l : layers) {
    layers_j.push_back({{"layer", l.layer}, {"array_J", l.array_J}, {"drivers_J", l.drivers_J},
                        {"converters_J", l.converters_J}, {"digital_J", l.digital_J}, {"energy_J", l.energy_J()},
                        {"latency_s", l.latency_s}, {"area_m2", l.area_m2}, {"tiles", l.tiles},
                        {"reads_per_image", l.reads_per_image}, {"mean_conducting_per_read", l.mean_k}});
    total["array_J"] = total["array_J"].get<double>() + l.array_J;
    total["drivers_J"] = total["drivers_J"].get<double>() + l.drivers_J;
    total["converters_J"] = total["converters_J"].get<double>() + l.converters_J;
    total["digital_J"] = total["digital_J"].get<double>() + l.digital_J;
  }
  j["breakdown"] = {{"total", total}, {"layers", layers_j}};
  j["assumptions"] = assumptions;
  return j;
}

InferenceCost inference_cost(const imc::Evaluation& e, const nn::Network& net, const netlist::Technology& tech,
                             const InferenceCostConfig& cfg) {
  if (e.images == 0) throw InputError("", "images", "no images were evaluated");
  const auto& sc = e.config;
  const int rows = sc.rows, cols = sc.cols > 0 ? sc.cols : sc.rows;
  const Node node = node_from(tech);
  const auto bundle = lut::load_bundle(cfg.read_lut);
  if (bundle.kind != "array_read")
    throw InputError(cfg.read_lut, "--read-lut", fmt::format("bundle kind is '{}', expected 'array_read'", bundle.kind));
  const auto& table = read_table(bundle, cfg.read_lut, sc);
  InferenceCost out;
  out.lut_table = table.name();
  out.read_latency_s = table.attributes.at("latency_mean_s").get<double>();
  out.read_row_energy_J = table.attributes.at("wordline_energy_per_row_J").get<double>();

  // The converter of one column read.
  const std::string spec = sc.converter;
  const std::string kind = spec.substr(0, spec.find(':'));
  std::vector<int> lengths;
  MtjConverterSpec mtj;
  AdcSpec adc_spec = cfg.adc;
  if (kind == "mtj") {
    lengths = imc::parse_sampling_lengths(spec.substr(spec.rfind(':') + 1));
    const auto dev = mtj::load_device(cfg.mtj_device);
    const auto d = mtj::derive(dev);
    mtj.write_current_A = cfg.mtj_write_current_A > 0 ? cfg.mtj_write_current_A : d.ic0_A;
    mtj.reset_current_A = 1.5 * mtj.write_current_A;
    mtj.pulse_s = cfg.mtj_pulse_s;
    mtj.r_heavy_metal_ohm = d.r_hm_ohm;
    mtj.r_path_ohm = node.r_on_ohm / 4;  // a 4-fin write-path transistor in its linear region
    mtj.r_mtj_ohm = dev.rp_ohm * (1 + dev.tmr / 2);
    mtj.strip_area_m2 = dev.hm.width_m * dev.hm.length_m;
    mtj.samples = lengths.front();
    out.converter = fmt::format("SOT-MTJ {} ({} ns pulse, {:.3g} uA write), L = {}", cfg.mtj_device, 1e9 * mtj.pulse_s,
                                1e6 * mtj.write_current_A, spec.substr(spec.rfind(':') + 1));
  } else {
    // An adc:BUNDLE converter costs what it is: the bundle's resolution, unless bits are given.
    if (adc_spec.bits <= 0 && kind == "adc") adc_spec.bits = lut::load_bundle(spec.substr(4)).info.value("bits", 0);
    if (adc_spec.bits <= 0) adc_spec.bits = static_cast<int>(std::ceil(std::log2(rows + 1.0)));
    out.converter = fmt::format("{}-bit {} ADC ({})", adc_spec.bits, adc_spec.type, kind);
  }

  const auto& tab = table;
  const auto col_energy = [&](double k) { return tab.interpolate(std::span<const double>(&k, 1), 0); };
  const auto& a = tech.array(sc.cell);
  const double cell_h = a.r_bitline_ohm / kWireOhmPerM, cell_w = a.r_wordline_ohm / kWireOhmPerM;
  const double images = static_cast<double>(e.images);
  const Cost driver_area{0, 0, 2.0 * 8 * node.transistor_area_m2};  // 4-fin inverter, both devices
  size_t slot = 0;
  for (const auto& ls : e.layers) {
    const nn::BinaryLayer* bl = nullptr;
    for (const auto& l : net.layers())
      if (l.index == ls.layer) bl = &l;
    if (!bl) throw Error(fmt::format("cost: layer {} of the evaluation is not in the network", ls.layer));
    LayerCost lc;
    lc.layer = ls.layer;
    const int per_tile = sc.mapping == imc::Mapping::Xnor ? rows / 2 : rows;
    const int slice_tiles = (bl->fan_in + per_tile - 1) / per_tile;
    const int col_tiles = (bl->out_channels + cols - 1) / cols;
    lc.tiles = static_cast<int64_t>(slice_tiles) * col_tiles;
    lc.reads_per_image = ls.reads / images;
    lc.mean_k = ls.mean_conducting_per_read();
    const double rows_used = ls.reads ? double(ls.cells) / double(ls.reads) : 0.0;
    const double active = rows_used / 2;
    const double slices = ls.slices / images;
    lc.array_J = lc.reads_per_image * col_energy(lc.mean_k);
    lc.drivers_J = slices * col_tiles * active * out.read_row_energy_J;
    Cost conv;
    if (kind == "mtj") {
      mtj.samples = lengths.at(std::min(slot, lengths.size() - 1));
      conv = mtj_conversion(mtj, node);
    } else {
      conv = adc(adc_spec, node);
    }
    if (slot == 0) out.conversion = conv;
    lc.converters_J = lc.reads_per_image * conv.energy_J;
    const int acc_bits = static_cast<int>(std::ceil(std::log2(bl->fan_in + 1.0))) + 1;
    const auto acc = adder(acc_bits, node), reg = register_bits(acc_bits, node), sign = adder(acc_bits, node);
    lc.digital_J = lc.reads_per_image * (acc.energy_J + reg.energy_J) + (ls.outputs / images) * sign.energy_J;
    const double positions = slice_tiles > 0 ? slices / slice_tiles : 0.0;
    lc.latency_s = positions * (out.read_latency_s + conv.latency_s + acc.latency_s);
    const double tile_area = rows * cols * cell_h * cell_w + cols * (conv.area_m2 + acc.area_m2 + reg.area_m2) +
                             rows * driver_area.area_m2;
    lc.area_m2 = lc.tiles * tile_area;
    out.energy_per_image_J += lc.energy_J();
    out.latency_per_image_s += lc.latency_s;
    out.area_m2 += lc.area_m2;
    out.layers.push_back(lc);
    ++slot;
  }
  out.assumptions =
      "tiles of a layer read in parallel, one converter per column, a tile's input vectors one after another, "
      "layers one after another; array energy at the layer's mean conducting count per read (the LUT is close to "
      "affine in k); active rows per activation = rows used / 2 (exact for XNOR, assumed for AND); one read per "
      "input vector and tile at the array_read LUT's mean latency";
  return out;
}

}  // namespace xbarkit::cost
