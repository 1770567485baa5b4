// One binary matrix product on simulated crossbars (imc/simulator.hpp), for layers outside the
// shipped networks (xbarkit.torch): the same mapping, BinSparX, sensing and converter as `infer`.
//
// The simulator maps the binary layers of a Network, so the weights become the binary output layer
// of a two-layer network whose first (real-input, digital) layer is never run: the product then goes
// through exactly the code path inference uses, Simulator::matmul.
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/imc/simulator.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/nn/network.hpp"

namespace xbarkit::python {

namespace {

// ±1 values from a bool/int/float array: exactly -1 or +1 (TypeError / ValueError naming `name`).
std::vector<int8_t> signs_arg(py::handle obj, const std::string& name, const std::vector<std::vector<py::ssize_t>>& shapes,
                              const std::string& shape_text, Checked* checked) {
  const auto v = real_arg(obj, name, shapes, shape_text, checked);
  std::vector<int8_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 1.0 && v[i] != -1.0)
      throw py::value_error(fmt::format("{}: expected values -1 or +1, element {} (flat index) is {}", name, i, v[i]));
    out[i] = v[i] > 0 ? 1 : -1;
  }
  return out;
}

// Optional per-row draw keys: None, or integers >= 0, one per row of the batch.
std::vector<uint64_t> keys_arg(py::handle obj, size_t batch) {
  if (obj.is_none()) return {};
  const auto arr = py::array::ensure(obj);
  if (!arr) throw py::type_error("keys: expected an array of integers >= 0, one per row of inputs");
  if (arr.dtype().kind() != 'i' && arr.dtype().kind() != 'u')
    throw py::type_error(fmt::format("keys: expected an integer array, got dtype {}", std::string(py::str(arr.dtype()))));
  if (arr.ndim() != 1 || static_cast<size_t>(arr.shape(0)) != batch)
    throw py::value_error(fmt::format("keys: expected shape ({},) (one key per row of inputs), got {} dimensions{}", batch,
                                      arr.ndim(), arr.ndim() == 1 ? fmt::format(" of length {}", arr.shape(0)) : ""));
  if (arr.dtype().kind() == 'i') {
    const auto signed_keys = arr.cast<py::array_t<int64_t, py::array::c_style | py::array::forcecast>>();
    std::vector<uint64_t> out(batch);
    for (size_t b = 0; b < batch; ++b) {
      if (signed_keys.at(b) < 0) throw py::value_error(fmt::format("keys: element {} is {}, expected >= 0", b, signed_keys.at(b)));
      out[b] = static_cast<uint64_t>(signed_keys.at(b));
    }
    return out;
  }
  const auto u = arr.cast<py::array_t<uint64_t, py::array::c_style | py::array::forcecast>>();
  return std::vector<uint64_t>(u.data(), u.data() + batch);
}

class CrossbarLayer {
public:
  CrossbarLayer(py::handle weights, int rows, int cols, const std::string& mapping, const std::string& binsparx,
                const std::optional<std::string>& array_lut, const std::string& converter, bool lut_mean, bool exact,
                const std::string& cell, double wire_scale, const std::string& tech, long long seed) {
    Checked c;
    auto w = signs_arg(weights, "weights", {{kAny, kAny}}, "(out_features, in_features)", &c);
    out_ = static_cast<int>(c.shape[0]);
    in_ = static_cast<int>(c.shape[1]);
    if (out_ < 1 || in_ < 1) throw py::value_error("weights: expected at least one output and one input");
    imc::SimConfig cfg = sim_config(rows, cols, mapping, binsparx, cell, wire_scale, tech, converter, seed, lut_mean);
    // An architecture needs at least two classes: a one-output layer gets a second, discarded row.
    const int outs = std::max(out_, 2);
    const std::string arch_text = fmt::format(
        "format = \"xbarkit-bnn-1\"\nname = \"crossbar_layer\"\ninput = [1, 1, 1]\nclasses = {}\n"
        "[[layer]]\ntype = \"dense\"\nout = {}\n[[layer]]\ntype = \"dense\"\nout = {}\n",
        outs, in_, outs);
    py::gil_scoped_release release;
    arch_ = nn::parse_architecture(arch_text, "crossbar layer");
    nn::NetworkParams p;
    p.layers.resize(2);
    auto dense = [](nn::LayerParams& l, int out, int fan_in) {
      l.weight.shape = {out, fan_in};
      l.weight.data.assign(static_cast<size_t>(out) * fan_in, 1.0f);
      l.bn_weight.assign(static_cast<size_t>(out), 1.0f);
      l.bn_bias.assign(static_cast<size_t>(out), 0.0f);
      l.bn_mean.assign(static_cast<size_t>(out), 0.0f);
      l.bn_var.assign(static_cast<size_t>(out), 1.0f);
    };
    dense(p.layers[0], in_, 1);
    dense(p.layers[1], outs, in_);
    for (size_t k = 0; k < w.size(); ++k) p.layers[1].weight.data[k] = static_cast<float>(w[k]);
    net_ = std::make_unique<nn::Network>(arch_, p);
    if (array_lut) cfg.array_lut = std::make_shared<const lut::ArrayPsLut>(lut::ArrayPsLut::load(*array_lut));
    cfg.sensing = exact ? imc::Sensing::exact : (cfg.array_lut ? imc::Sensing::lut : imc::Sensing::ideal);
    sim_ = std::make_unique<imc::Simulator>(*net_, cfg);
  }

  py::array_t<int32_t> matmul(py::handle inputs, py::handle keys_obj) const {
    Checked c;
    const auto x = signs_arg(inputs, "inputs", {{in_}, {kAny, in_}},
                             fmt::format("(in_features,) or (batch, in_features) with in_features = {}", in_), &c);
    const size_t batch = c.shape.size() == 2 ? static_cast<size_t>(c.shape[0]) : 1;
    const auto keys = keys_arg(keys_obj, batch);
    const int outs = std::max(out_, 2);
    std::vector<int32_t> z(batch * static_cast<size_t>(outs));
    {
      py::gil_scoped_release release;
      const auto& layer = net_->layers()[1];
      if (keys.empty()) {
        if (batch > 0) sim_->matmul(layer, x.data(), batch, z.data());
      } else {  // one read per row, keyed as `infer` keys image i (key i) and the trainer its batch
        for (size_t b = 0; b < batch; ++b)
          sim_->matmul_keyed(layer, x.data() + b * size_t(in_), 1, z.data() + b * size_t(outs), keys[b]);
      }
    }
    if (outs != out_) {  // drop the padding row
      std::vector<int32_t> kept(batch * static_cast<size_t>(out_));
      for (size_t b = 0; b < batch; ++b)
        for (int o = 0; o < out_; ++o) kept[b * out_ + o] = z[b * outs + o];
      z.swap(kept);
    }
    if (c.shape.size() == 1) return to_numpy(std::move(z));
    return to_numpy(std::move(z), {static_cast<py::ssize_t>(batch), out_});
  }

  py::dict stats() const {
    const auto t = sim_->total_stats();
    py::dict d;
    d["reads"] = t.reads;
    d["conducting_per_weight"] = t.conducting_per_weight();
    d["ps_rmse"] = t.ps_rmse();
    d["ps_wrong"] = t.ps_wrong;
    d["outputs"] = t.outputs;
    d["z_wrong"] = t.z_wrong;
    return d;
  }
  void reset_stats() const { sim_->reset_stats(); }
  int in_features() const { return in_; }
  int out_features() const { return out_; }
  std::string converter() const { return sim_->converter().name(); }
  double cell_current_A() const { return sim_->cell_current_A(); }
  std::string describe() const { return imc::describe(sim_->config()); }

private:
  int in_ = 0, out_ = 0;
  nn::Architecture arch_;
  std::unique_ptr<nn::Network> net_;
  std::unique_ptr<imc::Simulator> sim_;
};

}  // namespace

void bind_imc(py::module_& m) {
  m.def("derive_seed", &derive_seed, py::arg("seed"), py::arg("stream"),
        "xbarkit's seed derivation (SplitMix64 of seed and stream; core/rng.hpp): the key of image b in training "
        "step t is derive_seed(t + 1, b), as in the C++ trainer.");
  py::class_<CrossbarLayer>(m, "CrossbarLayer", R"doc(
A binary matrix product z = W x (W: (out_features, in_features) of +-1, x: +-1) computed on simulated
crossbar tiles exactly as `infer` does for a network layer: mapping (xnor | and), BinSparX, sensing
(ideal; LUT with array_lut, sampled unless lut_mean; exact native solver) and converter. Options have
the names and defaults of `xbarkit infer`. matmul(inputs) takes (in_features,) or (batch,
in_features) and returns int32 dot products; the random draws come from (seed, the inputs), so a
call is reproducible. matmul(inputs, keys=K) draws row b from (seed, K[b]) instead, exactly as `infer`
draws image i (K = 0, 1, ...) and the C++ trainer image b of step t (K[b] = derive_seed(t + 1, b)).
The GIL is released during the product.
)doc")
      .def(py::init<py::handle, int, int, const std::string&, const std::string&, const std::optional<std::string>&,
                    const std::string&, bool, bool, const std::string&, double, const std::string&, long long>(),
           py::arg("weights"), py::kw_only(), py::arg("rows") = 128, py::arg("cols") = 0, py::arg("mapping") = "xnor",
           py::arg("binsparx") = "none", py::arg("array_lut") = py::none(), py::arg("converter") = "ideal",
           py::arg("lut_mean") = false, py::arg("exact") = false, py::arg("cell") = "sram8t",
           py::arg("wire_scale") = 1.0, py::arg("tech") = "7nm", py::arg("seed") = 1)
      .def("matmul", &CrossbarLayer::matmul, py::arg("inputs"), py::arg("keys") = py::none())
      .def("stats", &CrossbarLayer::stats, "Partial-sum statistics since the last reset: reads, ps_rmse, z_wrong, ...")
      .def("reset_stats", &CrossbarLayer::reset_stats)
      .def_property_readonly("in_features", &CrossbarLayer::in_features)
      .def_property_readonly("out_features", &CrossbarLayer::out_features)
      .def_property_readonly("converter", &CrossbarLayer::converter)
      .def_property_readonly("cell_current_A", &CrossbarLayer::cell_current_A)
      .def("__repr__", [](const CrossbarLayer& l) {
        return fmt::format("<xbarkit.CrossbarLayer {}x{} on {}, converter {}>", l.out_features(), l.in_features(),
                           l.describe(), l.converter());
      });
}

}  // namespace xbarkit::python
