// SC weight gradients in the libtorch trainer (sc_update.hpp, sc_backward.hpp).
#include <charconv>

#include <fmt/format.h>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/train/sc_backward.hpp"
#include "xbarkit/train/sc_update.hpp"

namespace xbarkit::train {

ScUpdateConfig parse_sc_update(const std::string& spec, const std::string& option) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos)
    throw InputError("", option, fmt::format("'{}' is not SOURCE:L (ideal:L, cbram:L or cbram[@DEVICE][/PULSES]:L)", spec));
  const std::string source = spec.substr(0, colon), length = spec.substr(colon + 1);
  ScUpdateConfig c;
  if (source == "ideal") {
    c.source = sc::UpdateOptions::Source::ideal;
    c.device.clear();
  } else if (source.rfind("cbram", 0) == 0 && (source.size() == 5 || source[5] == '@' || source[5] == '/')) {
    c.source = sc::UpdateOptions::Source::cbram;
    std::string rest = source.substr(5);
    // "/PULSES" ends the spec, but a device file's path has slashes of its own: after "@DEVICE" a
    // last component with a '.' is the file's name ("cbram@/data/dev.toml:64" is a path), anything
    // else the pulse count ("cbram@dev/5000:8", and "cbram@dev/1e5:8" is refused as a count).
    const auto slash = rest.rfind('/');
    const bool file_name = slash != std::string::npos && rest.find('.', slash + 1) != std::string::npos;
    if (slash != std::string::npos && (rest[0] != '@' || !file_name)) {
      const std::string trials = rest.substr(slash + 1);
      long long n = 0;
      const auto [e, err] = std::from_chars(trials.data(), trials.data() + trials.size(), n);
      if (trials.empty() || err != std::errc() || e != trials.data() + trials.size() || n <= 0 || n > 100000000)
        throw InputError("", option, fmt::format("calibration pulses '{}' is not an integer in 1..1e8", trials));
      c.calibration_trials = n;
      rest = rest.substr(0, slash);
    }
    if (!rest.empty()) c.device = rest.substr(1);
    if (c.device.empty()) throw InputError("", option, "cbram@ needs a device name or file");
  } else {
    throw InputError("", option, fmt::format("unknown SC stream source '{}' (ideal or cbram[@DEVICE][/PULSES])", source));
  }
  long long L = 0;
  const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), L);
  if (length.empty() || ec != std::errc() || end != length.data() + length.size())
    throw InputError("", option, fmt::format("stream length '{}' is not an integer", length));
  if (L <= 0) throw InputError("", option, fmt::format("stream length must be > 0, got {}", L));
  if (static_cast<unsigned long long>(L) > kMaxScStreamLength)
    throw InputError("", option, fmt::format("stream length {} is above the maximum {}", L, kMaxScStreamLength));
  c.stream_length = size_t(L);
  if (c.source == sc::UpdateOptions::Source::cbram) cbram::load_device(c.device);  // refuse a bad device now
  return c;
}

std::string describe(const ScUpdateConfig& c) {
  const std::string scale =
      fmt::format("{}{}", c.scaling == sc::Scaling::row_col ? "per-row/column scales" : "per-tensor scales",
                  c.chop ? ", chopped" : "");
  if (c.source == sc::UpdateOptions::Source::ideal)
    return fmt::format("ideal Bernoulli streams, L = {}, {}", c.stream_length, scale);
  return fmt::format("CBRAM streams ({}, {} calibration{}), L = {}, {}", c.device,
                     c.calibration == sc::Calibration::per_device ? "per-device" : "nominal",
                     c.calibration == sc::Calibration::per_device ? fmt::format(" by {} pulses", c.calibration_trials)
                                                                   : std::string(),
                     c.stream_length, scale);
}

sc::UpdateOptions kernel_options(const ScUpdateConfig& c, uint64_t seed, size_t layer, unsigned threads) {
  sc::UpdateOptions o;
  o.stream_length = c.stream_length;
  o.scaling = c.scaling;
  o.chop = c.chop;
  o.source = c.source;
  if (c.source == sc::UpdateOptions::Source::cbram) o.device = cbram::load_device(c.device);
  o.calibration = c.calibration;
  o.calibration_trials = c.calibration_trials;
  o.seed = derive_seed(derive_seed(seed, 0x5c0b5c0bULL), layer);  // each layer its own devices and streams
  o.threads = threads;
  return o;
}

// ---------------------------------------------------------------------------------------------

ScWeightGradients::ScWeightGradients(const nn::Architecture& arch, const ScUpdateConfig& config, uint64_t seed,
                                     unsigned threads) {
  for (size_t li = 0; li < arch.layers.size(); ++li) {
    const auto& s = arch.layers[li];
    kernels_.push_back(
        std::make_unique<sc::ScOuterProduct>(size_t(s.out), size_t(s.fan_in), kernel_options(config, seed, li, threads)));
  }
  expected_mean.resize(arch.layers.size());
  expected_stddev.resize(arch.layers.size());
}

torch::Tensor ScWeightGradients::weight_gradient(size_t layer, const torch::Tensor& g, const torch::Tensor& x) const {
  const auto& k = *kernels_.at(layer);
  const auto gc = g.detach().to(torch::kFloat32).contiguous(), xc = x.detach().to(torch::kFloat32).contiguous();
  const int64_t S = gc.size(0);
  if (gc.dim() != 2 || xc.dim() != 2 || xc.size(0) != S || size_t(gc.size(1)) != k.rows() || size_t(xc.size(1)) != k.cols())
    throw Error(fmt::format("SC update: layer {}: errors {} and inputs {} do not fit the {}x{} weights", layer,
                            fmt::join(gc.sizes(), "x"), fmt::join(xc.sizes(), "x"), k.rows(), k.cols()));
  auto out = torch::empty({int64_t(k.rows()), int64_t(k.cols())}, torch::kFloat32);
  const std::span<const float> d(gc.data_ptr<float>(), size_t(gc.numel())), a(xc.data_ptr<float>(), size_t(xc.numel()));
  std::span<float> o(out.data_ptr<float>(), size_t(out.numel()));
  try {
    k.compute(d, a, size_t(S), step_, o);
  } catch (const Error& e) {
    throw Error(fmt::format("layer {} weight gradient: {}", layer, e.what()));
  }
  // The kernel returns the sample mean (1/S) sum_s delta x; the gradient is the sum.
  out.mul_(double(S));
  if (record_expectation) {
    auto& m = expected_mean.at(layer);
    auto& sd = expected_stddev.at(layer);
    m.assign(o.size(), 0.0);
    sd.assign(o.size(), 0.0);
    k.expectation(d, a, size_t(S), m, sd);
    for (size_t i = 0; i < m.size(); ++i) {
      m[i] *= double(S);
      sd[i] *= double(S);
    }
  }
  return out;
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const ScWeightGradients* owner(AutogradContext* ctx) {
  return reinterpret_cast<const ScWeightGradients*>(ctx->saved_data["sc"].toInt());
}

struct ScLinear : torch::autograd::Function<ScLinear> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const ScWeightGradients* sc, int64_t layer) {
    ctx->saved_data["sc"] = reinterpret_cast<int64_t>(sc);
    ctx->saved_data["layer"] = layer;
    ctx->save_for_backward({x, w});
    return torch::nn::functional::linear(x, w);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto g = grads[0].contiguous();
    torch::Tensor gx;
    if (ctx->needs_input_grad(0)) gx = torch::matmul(g, w);
    torch::Tensor gw;
    if (ctx->needs_input_grad(1)) gw = owner(ctx)->weight_gradient(size_t(ctx->saved_data["layer"].toInt()), g, x);
    return {gx, gw, torch::Tensor(), torch::Tensor()};
  }
};

struct ScConv : torch::autograd::Function<ScConv> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const ScWeightGradients* sc, int64_t layer, int64_t padding) {
    ctx->saved_data["sc"] = reinterpret_cast<int64_t>(sc);
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["padding"] = padding;
    ctx->save_for_backward({x, w});
    return torch::nn::functional::conv2d(x, w, torch::nn::functional::Conv2dFuncOptions().padding(padding));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    namespace F = torch::nn::functional;
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const int64_t pad = ctx->saved_data["padding"].toInt();
    const auto g = grads[0].contiguous();  // [B, O, H, W]
    torch::Tensor gx;
    if (ctx->needs_input_grad(0)) gx = F::conv_transpose2d(g, w, F::ConvTranspose2dFuncOptions().padding(pad));
    torch::Tensor gw;
    if (ctx->needs_input_grad(1)) {
      const int64_t O = w.size(0);
      // im2col: patch (c, i, j) of output position p, the order of w.reshape({O, C*9}); zero padding
      // here is the forward's (binary layers pass x already padded with -1 and pad = 0).
      const auto patches = F::unfold(x, F::UnfoldFuncOptions({3, 3}).padding(pad)).transpose(1, 2).reshape({-1, w[0].numel()});
      const auto delta = g.permute({0, 2, 3, 1}).reshape({-1, O});  // [B*H*W, O], same sample order
      gw = owner(ctx)->weight_gradient(size_t(ctx->saved_data["layer"].toInt()), delta, patches).view(w.sizes());
    }
    return {gx, gw, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor ScWeightGradients::linear(size_t layer, const torch::Tensor& x, const torch::Tensor& w) const {
  return ScLinear::apply(x, w, this, int64_t(layer));
}

torch::Tensor ScWeightGradients::conv(size_t layer, const torch::Tensor& x, const torch::Tensor& w, int64_t padding) const {
  return ScConv::apply(x, w, this, int64_t(layer), padding);
}

}  // namespace xbarkit::train
