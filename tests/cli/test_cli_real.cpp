// `xbarkit train` on a real-valued network (format xbarkit-real-1): the dispatch, the JSON summary,
// the weights it writes, and the options it refuses.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

struct Run {
  int status;
  std::string output;  // stdout and stderr
};

Run run(const std::string& args) {
  const std::string cmd = std::string(XBARKIT_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128, out};
}

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("xbarkit_cli_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const char* kTiny = R"(format = "xbarkit-real-1"
name = "tiny"
input = [1, 28, 28]
classes = 10
[train]
batch = 64
[[layer]]
type = "conv"
out = 4
stride = 2
[[layer]]
type = "residual"
out = 8
stride = 2
[[layer]]
type = "avgpool"
[[layer]]
type = "dense"
out = 10
)";

}  // namespace

TEST_CASE("train on a real-valued network writes its weights and a JSON summary", "[cli][train][real]") {
  const auto dir = scratch("train_real");
  std::ofstream(dir / "tiny.toml") << kTiny;
  const std::string out = (dir / "tiny.safetensors").string();
  const auto r = run("train " + (dir / "tiny.toml").string() + " -o " + out +
                     " --epochs 1 --train-images 512 --test-images 200 --threads 1 --weight-noise 0.04 -q --json");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j.at("format") == "xbarkit-real-1");
  CHECK(j.at("epochs").size() == 1);
  // The C++ inference's accuracy of the written weights (0.175 after these 8 steps; learning itself is
  // tested in tests/nn/test_real_trainer.cpp), the same number as in the file's metadata.
  const double acc = j.at("test_accuracy").get<double>();
  CHECK(acc >= 0.0);
  CHECK(acc <= 1.0);
  CHECK(std::stod(j.at("metadata").at("test_accuracy").get<std::string>()) == Approx(acc).margin(1e-4));
  CHECK(j.at("metadata").at("weight_noise") == "0.04");
  CHECK(fs::exists(out));
  CHECK_FALSE(fs::exists(out + ".checkpoint"));
  fs::remove_all(dir);
}

TEST_CASE("train refuses options that do not fit the network kind, and bad real-valued files", "[cli][errors][train][real]") {
  const auto dir = scratch("train_real_bad");
  std::ofstream(dir / "tiny.toml") << kTiny;
  const std::string out = (dir / "w.safetensors").string();
  auto r = run("train " + (dir / "tiny.toml").string() + " -o " + out + " --hardware");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("binary networks only"));
  r = run("train " + std::string(XBARKIT_SOURCE_DIR) + "/models/networks/bnn_mlp.toml -o " + out + " --weight-noise 0.05");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--weight-noise"));
  std::ofstream(dir / "bad.toml") << std::string(kTiny) + "[[layer]]\ntype = \"dense\"\nout = 10\nkernal = 3\n";
  r = run("train " + (dir / "bad.toml").string() + " -o " + out);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("bad.toml") && Catch::Contains("layer[4].kernal"));
  CHECK_FALSE(fs::exists(out));
  fs::remove_all(dir);
}

TEST_CASE("infer runs a real-valued network bit-sliced on binary cells", "[cli][infer][real][bit-sliced]") {
  // 8-bit weights (per-output scale) and 8-bit inputs change each product by well under 1% of its
  // range (docs/VALIDATION.md: 0.4% worst case per term), so on ideal tiles the shipped residual
  // network should keep its float accuracy; 150 images, allowed 2 images (1.3 points) of disagreement.
  const auto r = run("infer --network models/networks/resnet_fmnist --weight-bits 8 --input-bits 8 --images 150 "
                     "--threads 2 --json");
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  CHECK(j.at("mapping") == "bit-sliced");
  CHECK(j.at("cell") == "sram8t");
  CHECK(j.at("columns_per_output") == 8);
  CHECK(j.at("sensing") == "ideal");
  CHECK(j.at("accuracy").get<double>() >= j.at("software_accuracy").get<double>() - 2.0 / 150);
  CHECK(j.at("reads_per_image").get<double>() > 1e6);
  for (const auto& l : j.at("layers")) CHECK(l.at("count_wrong_fraction").get<double>() == 0.0);  // ideal tiles

  // What it cannot do is refused, naming the option.
  for (const auto& [args, key] : std::vector<std::pair<std::string, std::string>>{
           {"--mapping xnor", "--mapping"},
           {"--binsparx static", "--binsparx"},
           {"--weight-bits 1", "--weight-bits"},
           {"--weight-encoding ones", "--weight-encoding"},
           {"--read-lut /nonexistent", "--read-lut"},
           {"--recalibrate-bn 10", "--recalibrate-bn"}}) {
    const auto bad = run("infer --network models/networks/resnet_fmnist --images 2 " + args);
    CHECK(bad.status == 1);
    CHECK(bad.output.find(key) != std::string::npos);
  }
  const auto binary = run("infer --network models/networks/bnn_mlp --weight-bits 8 --images 2");
  CHECK(binary.status == 1);
  CHECK(binary.output.find("real-valued") != std::string::npos);
}

TEST_CASE("infer runs the shipped noise-aware ResNet on PCM tiles", "[cli][infer][real][pcm]") {
  // One programming instance (seed 1), 200 test images, 25 s and one day after programming, with GDC.
  // docs/VALIDATION.md (2,000 images, 10 instances): 90.83 +- 1.17% at 25 s and 89.53 +- 2.08% at one
  // day against 92.90% float. A single instance on 200 images adds a binomial SE of ~2.2 points, so
  // the bound below (8 points under float) sits ~2.5 standard deviations of both spreads below the
  // expected accuracy, while a broken mapping, drift or GDC (28.6% without GDC at one day) fails it.
  for (const char* t : {"25", "86400"}) {
    INFO("t = " << t << " s");
    const auto r = run(std::string("infer --network models/networks/resnet_fmnist_noise --cell pcm --pcm-time ") + t +
                       " --gdc --images 200 --threads 2 --json");
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    CHECK(j.at("pcm_time_s").get<double>() == std::stod(t));
    CHECK(j.at("compensation") == "gdc-layer");
    CHECK(j.at("accuracy").get<double>() >= j.at("software_accuracy").get<double>() - 0.08);
    CHECK(j.at("accuracy").get<double>() <= j.at("software_accuracy").get<double>() + 0.03);
    // GDC's factor grows with time as (t / t0)^nu for the conductance-weighted drift exponent (~0.05).
    const double f = j.at("gdc_factors").at(0).at(0).get<double>();
    CHECK(f > (std::stod(t) > 100 ? 1.3 : 0.95));
  }
}
