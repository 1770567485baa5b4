#include <catch2/catch.hpp>

#include <cstring>

#include <nlohmann/json.hpp>

#include "test_nn_common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/nn/safetensors.hpp"
#include "xbarkit/train/trainer.hpp"

using namespace xbarkit::nn;
using nn_test::TempDir;

namespace {
const char* kSmallArch = R"(
name = "small"
input = [1, 6, 6]
classes = 3
[[layer]]
type = "conv3x3"
out = 4
pool = true
[[layer]]
type = "dense"
out = 5
[[layer]]
type = "dense"
out = 3
)";

std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const xbarkit::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// A safetensors file assembled by hand, the way safetensors.torch.save_file lays it out.
std::string handmade(const nlohmann::json& header, const std::string& data) {
  const std::string h = header.dump();
  std::string out(8, '\0');
  uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h + data;
}
std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}
}  // namespace

TEST_CASE("architecture reader derives shapes and rejects bad layer lists", "[nn][format]") {
  const auto a = parse_architecture(kSmallArch, "small.toml");
  REQUIRE(a.layers.size() == 3);
  CHECK(a.layers[0].fan_in == 9);
  CHECK(a.layers[0].out_height == 3);
  CHECK(a.layers[1].fan_in == 4 * 3 * 3);
  CHECK(a.layers[2].is_output);
  CHECK(a.layers[0].real_input);
  CHECK_FALSE(a.layers[1].real_input);

  CHECK_THAT(input_error([] { parse_architecture("input=[1,6,6]\nclasses=3\ntypo=1\n[[layer]]\ntype=\"dense\"\nout=3\n", "a.toml"); }),
             Catch::Contains("a.toml: typo: unknown key"));
  CHECK_THAT(input_error([] { parse_architecture("input=[1,6,6]\nclasses=3\n[[layer]]\ntype=\"dense\"\nout=4\n", "a.toml"); }),
             Catch::Contains("layer[0].out") && Catch::Contains("classes = 3"));
  CHECK_THAT(input_error([] {
               parse_architecture("input=[1,6,6]\nclasses=3\n[[layer]]\ntype=\"dense\"\nout=4\n[[layer]]\ntype=\"conv3x3\"\nout=3\n", "a.toml");
             }),
             Catch::Contains("layer[1].type") && Catch::Contains("cannot follow a dense"));
  CHECK_THAT(input_error([] { parse_architecture("input=[1,6,6]\nclasses=3\n[[layer]]\ntype=\"conv5x5\"\nout=3\n", "a.toml"); }),
             Catch::Contains("unknown layer type 'conv5x5'"));
  CHECK_THAT(input_error([] { parse_architecture("input=[1,6,6]\nclasses=3\n[[layer]]\ntype=\"dense\"\nout=3\npol=true\n", "a.toml"); }),
             Catch::Contains("layer[0].pol: unknown key"));
  CHECK_THAT(input_error([] { parse_architecture("input=[1,6,6]\nclasses=3\n[train]\nepochs=-1\n[[layer]]\ntype=\"dense\"\nout=3\n", "a.toml"); }),
             Catch::Contains("train.epochs"));
}

TEST_CASE("shipped architecture files parse", "[nn][format]") {
  for (const char* name : {"bnn_mlp.toml", "bnn_cnn.toml"}) {
    const auto a = load_architecture(nn_test::networks_dir() / name);
    CHECK(a.classes == 10);
    CHECK(a.layers.back().is_output);
  }
}

TEST_CASE("safetensors: hand-made PyTorch-style file, round trip, and atomic write", "[nn][format]") {
  nlohmann::json h;
  h["__metadata__"] = {{"format", "pt"}};
  h["b"] = {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {8, 20}}};
  h["a"] = {{"dtype", "F32"}, {"shape", {2, 1}}, {"data_offsets", {0, 8}}};
  const auto tf = parse_safetensors(handmade(h, floats({1.5f, -2.0f, 3.0f, 4.0f, 5.0f})), "m.safetensors");
  REQUIRE(tf.tensors.size() == 2);
  CHECK(tf.tensors.at("a").shape == std::vector<int64_t>{2, 1});
  CHECK(tf.tensors.at("a").data == std::vector<float>{1.5f, -2.0f});
  CHECK(tf.tensors.at("b").data == std::vector<float>{3.0f, 4.0f, 5.0f});
  CHECK(tf.metadata.at("format") == "pt");

  // F64 is converted.
  nlohmann::json h64;
  h64["x"] = {{"dtype", "F64"}, {"shape", {1}}, {"data_offsets", {0, 8}}};
  double d = 0.25;
  std::string dbytes(8, '\0');
  std::memcpy(dbytes.data(), &d, 8);
  CHECK(parse_safetensors(handmade(h64, dbytes), "d.safetensors").tensors.at("x").data == std::vector<float>{0.25f});

  const auto again = parse_safetensors(serialize_safetensors(tf), "rt");
  CHECK(again.tensors.at("a").data == tf.tensors.at("a").data);
  CHECK(again.tensors.at("b").shape == tf.tensors.at("b").shape);
  CHECK(again.metadata == tf.metadata);

  TempDir dir;
  write_safetensors(dir.path / "w.safetensors", tf);
  CHECK(read_safetensors(dir.path / "w.safetensors").tensors.at("b").data == tf.tensors.at("b").data);
  CHECK_THROWS(write_safetensors(dir.path / "missing_dir" / "w.safetensors", tf));
  CHECK_FALSE(std::filesystem::exists(dir.path / "missing_dir"));
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file();
  CHECK(files == 1);  // no temporary left behind
}

TEST_CASE("safetensors reader rejects truncated files, wrong dtypes and malformed headers", "[nn][format]") {
  nlohmann::json h;
  h["a"] = {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}};
  const std::string good = handmade(h, floats({1, 2, 3, 4}));
  REQUIRE_NOTHROW(parse_safetensors(good, "f.st"));
  CHECK_THAT(input_error([&] { parse_safetensors(good.substr(0, good.size() - 4), "f.st"); }),
             Catch::Contains("f.st: a: data_offsets [0, 16] outside the 12 data bytes"));
  CHECK_THAT(input_error([&] { parse_safetensors(good.substr(0, 20), "f.st"); }), Catch::Contains("header length"));
  CHECK_THAT(input_error([&] { parse_safetensors("abc", "f.st"); }), Catch::Contains("too short"));
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json b = h;
    b["a"][key] = value;
    return handmade(b, floats({1, 2, 3, 4}));
  };
  CHECK_THAT(input_error([&] { parse_safetensors(with("dtype", "I64"), "f.st"); }),
             Catch::Contains("f.st: a: dtype I64 is not supported"));
  CHECK_THAT(input_error([&] { parse_safetensors(with("dtype", "F16"), "f.st"); }), Catch::Contains("F16"));
  CHECK_THAT(input_error([&] { parse_safetensors(with("shape", {2, 3}), "f.st"); }),
             Catch::Contains("shape [2, 3] of F32 needs 24"));
  std::string broken = good;
  broken[8] = '!';  // the opening brace of the JSON header
  CHECK_THAT(input_error([&] { parse_safetensors(broken, "f.st"); }), Catch::Contains("malformed JSON header"));
  nlohmann::json ov = h;
  ov["b"] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}};
  CHECK_THAT(input_error([&] { parse_safetensors(handmade(ov, floats({1, 2, 3, 4})), "f.st"); }), Catch::Contains("overlap"));
}

TEST_CASE("network parameters are checked against the architecture", "[nn][format]") {
  const auto arch = parse_architecture(kSmallArch, "small.toml");
  const auto params = xbarkit::train::initial_params(arch, 3);
  TensorFile tf = params_to_tensors(arch, params);
  CHECK(tf.tensors.size() == 15);
  CHECK(tf.tensors.at("layer0.weight").shape == std::vector<int64_t>{4, 1, 3, 3});
  CHECK(tf.tensors.at("layer1.weight").shape == std::vector<int64_t>{5, 36});
  CHECK(tf.tensors.at("layer2.bn.running_var").shape == std::vector<int64_t>{3});
  REQUIRE_NOTHROW(params_from_tensors(arch, tf, "w.safetensors"));

  TensorFile bad = tf;
  bad.tensors["layer1.weight"].shape = {5, 6, 6};
  CHECK_THAT(input_error([&] { params_from_tensors(arch, bad, "w.safetensors"); }),
             Catch::Contains("w.safetensors: layer1.weight: shape [5, 6, 6]") && Catch::Contains("expected [5, 36]"));
  bad = tf;
  bad.tensors.erase("layer2.bn.bias");
  CHECK_THAT(input_error([&] { params_from_tensors(arch, bad, "w.safetensors"); }),
             Catch::Contains("layer2.bn.bias: missing tensor"));
  bad = tf;
  bad.tensors["layer0.bn.num_batches_tracked"] = Tensor{{1}, {1.0f}};
  CHECK_THAT(input_error([&] { params_from_tensors(arch, bad, "w.safetensors"); }),
             Catch::Contains("layer0.bn.num_batches_tracked: unexpected tensor"));
  bad = tf;
  bad.tensors["layer0.bn.running_var"].data[1] = -1.0f;
  CHECK_THAT(input_error([&] { params_from_tensors(arch, bad, "w.safetensors"); }), Catch::Contains(">= 0"));

  // Through a file: the weights of another architecture are rejected by shape.
  TempDir dir;
  write_params(arch, params, dir.path / "w.safetensors");
  const auto other = parse_architecture(std::string(kSmallArch).replace(std::string(kSmallArch).find("out = 5"), 7, "out = 6"),
                                        "other.toml");
  CHECK_THAT(input_error([&] { read_params(other, dir.path / "w.safetensors"); }), Catch::Contains("layer1.weight: shape"));
  const auto back = read_params(arch, dir.path / "w.safetensors");
  CHECK(back.layers[1].weight.data == params.layers[1].weight.data);
  CHECK(back.metadata.at("format") == "xbarkit-bnn-1");
  // Truncated weights file: named error, not a crash.
  const std::string bytes = xbarkit::read_text_file(dir.path / "w.safetensors");
  xbarkit::write_file_atomic(dir.path / "t.safetensors", bytes.substr(0, bytes.size() - 10));
  CHECK_THAT(input_error([&] { read_params(arch, dir.path / "t.safetensors"); }),
             Catch::Contains("t.safetensors") && Catch::Contains("outside"));
}
