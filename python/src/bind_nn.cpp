// Binary networks (nn/network.hpp), datasets (nn/dataset.hpp) and crossbar inference
// (imc/evaluate.hpp): the library behind `xbarkit eval` and `xbarkit infer`, with the same options
// and the same JSON documents (as Python dicts).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/cost/inference.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/imc/sim_options.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/imc/mapping.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/network.hpp"

namespace xbarkit::python {

namespace {

namespace fs = std::filesystem;

// A loaded network with the parameters it was folded from (the float reference needs them).
struct PyNetwork {
  fs::path path;       // architecture path without extension
  fs::path weights;
  nn::Architecture arch;
  nn::NetworkParams params;
  std::unique_ptr<nn::Network> net;
};

// As the CLI: "models/networks/bnn_cnn" works from any directory (a relative path that does not exist
// here is looked up in the source tree); a .toml or .safetensors extension is dropped.
fs::path network_path(const std::string& p) {
  fs::path path(p);
  auto base = path;
  if (base.extension() == ".toml" || base.extension() == ".safetensors") base.replace_extension();
  if (path.is_relative() && !fs::exists(base.string() + ".toml") && fs::exists((source_dir() / base).string() + ".toml"))
    return source_dir() / base;
  return base;
}

std::shared_ptr<PyNetwork> load(const std::string& path, const std::optional<std::string>& weights) {
  auto n = std::make_shared<PyNetwork>();
  n->path = network_path(path);
  n->weights = weights ? fs::path(*weights) : fs::path(n->path.string() + ".safetensors");
  py::gil_scoped_release release;
  n->arch = nn::load_architecture(n->path.string() + ".toml");
  n->params = nn::read_params(n->arch, n->weights);
  n->net = std::make_unique<nn::Network>(n->arch, n->params);
  return n;
}

nn::Dataset dataset(const std::optional<std::string>& dir, nn::Split split) {
  return nn::load_fashion_mnist(dir ? fs::path(*dir) : nn::default_fashion_mnist_dir(), split);
}

nn::Split parse_split(const std::string& s) {
  if (s == "test") return nn::Split::Test;
  if (s == "train") return nn::Split::Train;
  throw py::value_error(fmt::format("split: expected 'test' or 'train', got '{}'", s));
}

// Images for a network: (n, H, W), (n, C, H, W) or (n, C*H*W) uint8 0..255 (one image without n).
nn::Dataset images_arg(const PyNetwork& n, py::handle images) {
  const auto& a = n.arch;
  const py::ssize_t c = a.in_channels, h = a.in_height, w = a.in_width;
  Checked chk;
  auto pixels = bytes_arg(images, "images", {{kAny, h, w}, {kAny, c, h, w}, {kAny, c * h * w}},
                          fmt::format("(n, {h}, {w}), (n, {c}, {h}, {w}) or (n, {s})", fmt::arg("h", h), fmt::arg("w", w),
                                      fmt::arg("c", c), fmt::arg("s", c * h * w)),
                          &chk);
  if (chk.shape.size() == 3 && c != 1)
    throw py::value_error(fmt::format("images: the network takes {} channels: expected shape (n, {}, {}, {})", c, c, h, w));
  nn::Dataset d;
  d.name = "python";
  d.count = static_cast<size_t>(chk.shape[0]);
  d.channels = static_cast<int>(c);
  d.rows = static_cast<int>(h);
  d.cols = static_cast<int>(w);
  d.pixels = std::move(pixels);
  d.labels.assign(d.count, 0);
  return d;
}

py::dict eval(const PyNetwork& n, long long images, const std::optional<std::string>& data, long long threads,
              bool reference) {
  const size_t count = non_negative(images, "images");
  const auto nthreads = static_cast<unsigned>(non_negative(threads, "threads"));
  nlohmann::ordered_json j;
  std::vector<int> pred;
  {
    py::gil_scoped_release release;
    const auto test = dataset(data, nn::Split::Test);
    const auto t0 = std::chrono::steady_clock::now();
    pred = n.net->predict_all(test, count, nthreads);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    size_t correct = 0;
    for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == int(test.labels[i]);
    j["network"] = n.arch.name;
    j["weights"] = n.weights.string();
    j["dataset"] = test.name;
    j["images"] = pred.size();
    j["correct"] = correct;
    j["accuracy"] = nn::Network::accuracy(pred, test);
    j["seconds"] = secs;
    j["images_per_second"] = secs > 0 ? double(pred.size()) / secs : 0.0;
    if (reference) {
      std::vector<int> ref(pred.size());
      const nn::FloatReference fr(n.arch, n.params);
      parallel_for(pred.size(), nthreads, [&](size_t i) { ref[i] = nn::argmax(fr.logits(test.image(i).data())); }, 16);
      size_t differ = 0;
      for (size_t i = 0; i < pred.size(); ++i) differ += ref[i] != pred[i];
      j["reference_accuracy"] = nn::Network::accuracy(ref, test);
      j["reference_mismatches"] = differ;
    }
  }
  auto d = py::cast<py::dict>(to_python(j));
  d["predictions"] = to_numpy(std::vector<int32_t>(pred.begin(), pred.end()));
  return d;
}

py::dict infer(py::object network, int rows, int cols, const std::string& mapping, const std::string& binsparx,
               const std::optional<std::string>& array_lut, const std::string& converter, bool lut_mean, bool exact,
               const std::string& cell, double wire_scale, const std::string& tech, long long images,
               const std::optional<std::string>& data, long long seed, long long threads, long long chip,
               const std::optional<std::string>& corner, double variation, long long chip_seed, long long chips,
               const std::optional<std::string>& calibration_data, long long calibration_images,
               long long guard_images, const std::optional<std::string>& read_lut, long long adc_bits, const std::string& adc_type,
               const std::string& mtj_device, double mtj_pulse_s, double mtj_current_A) {
  std::shared_ptr<PyNetwork> n;
  if (py::isinstance<py::str>(network) || py::isinstance(network, py::module_::import("os").attr("PathLike")))
    n = load(py::cast<std::string>(py::str(network)), std::nullopt);
  else if (py::isinstance<PyNetwork>(network))
    n = py::cast<std::shared_ptr<PyNetwork>>(network);
  else
    throw py::type_error(fmt::format("network: expected a path (str) or an xbarkit.Network, got {}",
                                     std::string(py::str(py::type::of(network)))));
  // Python-style checks of what the CLI's parser checks; everything else goes through the CLI's own
  // SimOptions -> make_sim_config, so both front ends accept and refuse the same configurations.
  sim_config(rows, cols, mapping, binsparx, cell, wire_scale, tech, converter, seed, lut_mean);
  if (chips < 1) throw py::value_error(fmt::format("chips: expected >= 1, got {}", chips));
  if (adc_bits < 0 || adc_bits > 16) throw py::value_error(fmt::format("adc_bits: expected 0..16, got {}", adc_bits));
  imc::SimOptions o;
  o.rows = rows;
  o.cols = cols;
  o.mapping = mapping;
  o.binsparx = binsparx;
  o.array_lut = array_lut.value_or("");
  o.converter = converter;
  o.cell = cell;
  o.tech = tech;
  o.wire_scale = wire_scale;
  o.lut_mean = lut_mean;
  o.exact = exact;
  o.seed = non_negative(seed, "seed");
  o.chip = non_negative(chip, "chip");
  o.corner = corner.value_or("");
  o.variation = variation;
  o.chip_seed = non_negative(chip_seed, "chip_seed");
  o.calibration_data = calibration_data.value_or("");
  o.calibration_images = non_negative(calibration_images, "calibration_images");
  o.guard_images = non_negative(guard_images, "guard_images");
  const size_t count = non_negative(images, "images");
  const auto nthreads = static_cast<unsigned>(non_negative(threads, "threads"));
  nlohmann::json j;
  std::vector<int> predictions;
  {
    py::gil_scoped_release release;
    const imc::SimConfig cfg = imc::make_sim_config(o);
    if (chips > 1 && variation < 0)
      throw InputError("", "chips", "needs variation (chips differ only by their device mismatch)");
    const auto test = dataset(data, nn::Split::Test);
    std::vector<int> software;
    double software_accuracy = -1;
    if (!n->net->stochastic_psum()) {  // a network trained for stochastic conversion has no software path
      software = n->net->predict_all(test, count, nthreads);
      software_accuracy = nn::Network::accuracy(software, test);
    }
    const std::vector<int>* sw = software.empty() ? nullptr : &software;
    imc::Evaluation e;
    std::optional<imc::ChipStudy> study;
    if (chips > 1) study = imc::evaluate_chips(*n->net, test, cfg, count, nthreads, int(chips), sw, &e);
    else e = imc::evaluate(*n->net, test, cfg, count, nthreads, sw);
    j = e.to_json();
    if (study) j["chips"] = study->to_json();
    if (read_lut) {
      cost::InferenceCostConfig cc;
      cc.read_lut = *read_lut;
      cc.adc.bits = int(adc_bits);
      cc.adc.type = adc_type;
      cc.mtj_device = mtj_device;
      cc.mtj_pulse_s = mtj_pulse_s;
      cc.mtj_write_current_A = mtj_current_A;
      const auto costs = cost::inference_cost(e, *n->net, netlist::load_technology(tech), cc);
      const auto cj = costs.to_json();  // a named document: items() of a temporary would dangle
      for (const auto& [k, v] : cj.items()) j[k] = v;
    }
    j["network"] = n->path.string();
    j["dataset"] = test.name;
    j["software_accuracy"] = software_accuracy >= 0 ? nlohmann::json(software_accuracy) : nlohmann::json();
    if (array_lut) j["array_lut"] = *array_lut;
    predictions = e.predictions;
  }
  auto d = py::cast<py::dict>(to_python(j));
  d["predictions"] = to_numpy(std::vector<int32_t>(predictions.begin(), predictions.end()));
  return d;
}

}  // namespace

void bind_nn(py::module_& m) {
  m.def(
      "load_fashion_mnist",
      [](const std::optional<std::string>& dir, const std::string& split) {
        const auto s = parse_split(split);
        nn::Dataset d;
        {
          py::gil_scoped_release release;
          d = dataset(dir, s);
        }
        const auto n = static_cast<py::ssize_t>(d.count);
        std::vector<py::ssize_t> shape{n, d.rows, d.cols};
        if (d.channels != 1) shape = {n, d.channels, d.rows, d.cols};
        return py::make_tuple(to_numpy(std::move(d.pixels), shape), to_numpy(std::move(d.labels)));
      },
      py::arg("dir") = py::none(), py::arg("split") = "test",
      "(images uint8 (n, 28, 28), labels uint8 (n,)) of an IDX dataset directory (default: Debian's Fashion-MNIST).");

  py::class_<PyNetwork, std::shared_ptr<PyNetwork>>(m, "Network", R"doc(
A binary network: architecture TOML + safetensors weights, folded for bit-packed inference.
load_network(path) reads PATH.toml and PATH.safetensors ("models/networks/bnn_cnn" works from any
directory).
)doc")
      .def_property_readonly("name", [](const PyNetwork& n) { return n.arch.name; })
      .def_property_readonly("path", [](const PyNetwork& n) { return n.path.string(); })
      .def_property_readonly("weights", [](const PyNetwork& n) { return n.weights.string(); })
      .def_property_readonly("classes", [](const PyNetwork& n) { return n.arch.classes; })
      .def_property_readonly("input_shape",
                             [](const PyNetwork& n) { return py::make_tuple(n.arch.in_channels, n.arch.in_height, n.arch.in_width); })
      .def_property_readonly(
          "layers",
          [](const PyNetwork& n) {
            py::list l;
            for (const auto& b : n.net->layers())
              l.append(py::dict(py::arg("index") = b.index, py::arg("type") = std::string(nn::layer_type_name(b.spec.type)),
                                py::arg("out_channels") = b.out_channels, py::arg("fan_in") = b.fan_in,
                                py::arg("positions") = b.positions(), py::arg("binary") = b.binary(),
                                py::arg("is_output") = b.is_output));
            return l;
          },
          "Layers: index, type, out_channels, fan_in (N), positions per image, binary (maps to crossbars), is_output.")
      .def(
          "predict",
          [](const PyNetwork& n, py::handle images, long long threads) {
            const auto d = images_arg(n, images);
            const auto nthreads = static_cast<unsigned>(non_negative(threads, "threads"));
            std::vector<int> p;
            {
              py::gil_scoped_release release;
              p = n.net->predict_all(d, 0, nthreads);
            }
            return to_numpy(std::vector<int32_t>(p.begin(), p.end()));
          },
          py::arg("images"), py::kw_only(), py::arg("threads") = 0,
          "Predicted classes of images (n, 28, 28) / (n, C, H, W) / (n, C*H*W) uint8, bit-packed path.")
      .def(
          "logits",
          [](const PyNetwork& n, py::handle image) {
            const auto d = images_arg(n, image);
            if (d.count != 1) throw py::value_error(fmt::format("image: expected one image (n = 1), got {}", d.count));
            return to_numpy(n.net->logits(d.image(0)));
          },
          py::arg("image"), "Class logits of one image (shape (1, H, W) etc.).")
      .def("eval", &eval, py::kw_only(), py::arg("images") = 0, py::arg("data") = py::none(), py::arg("threads") = 0,
           py::arg("reference") = false,
           "Test accuracy, as `xbarkit eval --json` (plus predictions); reference=True also runs the float reference.")
      .def("__repr__", [](const PyNetwork& n) { return fmt::format("<xbarkit.Network {} ({})>", n.arch.name, n.path.string()); });

  m.def("load_network", &load, py::arg("path"), py::arg("weights") = py::none(),
        "A binary network from PATH.toml and PATH.safetensors (or the given weights file).");

  m.def("infer", &infer, py::arg("network") = "models/networks/bnn_cnn", py::kw_only(), py::arg("rows") = 128,
        py::arg("cols") = 0, py::arg("mapping") = "xnor", py::arg("binsparx") = "none", py::arg("array_lut") = py::none(),
        py::arg("converter") = "ideal", py::arg("lut_mean") = false, py::arg("exact") = false,
        py::arg("cell") = "sram8t", py::arg("wire_scale") = 1.0, py::arg("tech") = "7nm", py::arg("images") = 0,
        py::arg("data") = py::none(), py::arg("seed") = 1, py::arg("threads") = 0, py::arg("chip") = 0,
        py::arg("corner") = py::none(), py::arg("variation") = -1.0, py::arg("chip_seed") = 1, py::arg("chips") = 1,
        py::arg("calibration_data") = py::none(), py::arg("calibration_images") = 200, py::arg("guard_images") = 200, py::arg("read_lut") = py::none(),
        py::arg("adc_bits") = 0, py::arg("adc_type") = "sar", py::arg("mtj_device") = "sot_pma_7nm",
        py::arg("mtj_pulse_s") = 2e-9, py::arg("mtj_current_A") = 0.0,
        R"doc(
A binary network on simulated crossbars, with every option of `xbarkit infer` (same names with
underscores, same defaults; checked by the CLI's own code, imc::make_sim_config) and its --json
document as a dict (accuracy as a fraction, layers, config, chips with chips > 1, costs with read_lut,
...) plus predictions. network: a path or an xbarkit.Network. The GIL is released while it runs.
)doc");
}

}  // namespace xbarkit::python
