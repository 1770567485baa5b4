// Parser fuzz corpus (fuzz/corpus, written by fuzz/make_corpus.py from fuzz/seeds): every mutated
// recipe, crossbar recipe, device file, journal, bundle manifest, safetensors file, IDX file and
// architecture must either load or be refused with xbarkit::Error (the CLI's exit 1 with a message
// naming the file); any other exception is the CLI's exit 2 "unexpected error", a crash aborts the
// test, and each case must finish within seconds (CTest's timeout catches a hang).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <typeinfo>

#include <nlohmann/json.hpp>

#include "util.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/nn/safetensors.hpp"

using namespace rel;

namespace {

const fs::path kFuzz = fs::path(XBARKIT_TEST_DIR) / "reliability" / "fuzz";

std::vector<fs::path> corpus(const std::string& parser) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kFuzz / "corpus" / parser)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

struct Tally {
  size_t accepted = 0, refused = 0;
  double slowest_s = 0;
  std::string slowest;
};

// Runs one case: success or xbarkit::Error pass; anything else fails, naming the case.
void one(const fs::path& file, Tally& tally, const std::function<void()>& parse) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    parse();
    ++tally.accepted;
  } catch (const xbarkit::Error& e) {
    ++tally.refused;
    // An error must say where: the message names a file (the case or one it references) or an option.
    CHECK(std::string(e.what()).size() > 10);
  } catch (const std::filesystem::filesystem_error& e) {
    // The CLI reports these as "xbarkit: error: filesystem error: <operation>: <reason> [<path>]",
    // exit 1 (e.g. a 300-character file name: ENAMETOOLONG), naming the path.
    ++tally.refused;
    CHECK(!e.path1().empty());
  } catch (const std::exception& e) {
    FAIL_CHECK(file.filename().string() << ": not an input error (the CLI's exit 2): " << typeid(e).name() << ": "
                                        << e.what());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (s > tally.slowest_s) {
    tally.slowest_s = s;
    tally.slowest = file.filename().string();
  }
}

void report(const std::string& parser, const Tally& t, size_t expected_min) {
  INFO(parser << ": " << t.accepted << " accepted, " << t.refused << " refused; slowest " << t.slowest << " "
              << t.slowest_s << " s");
  CHECK(t.accepted + t.refused >= expected_min);
  CHECK(t.refused > 0);       // the corpus does exercise the error paths
  CHECK(t.slowest_s < 10.0);  // no case anywhere near a hang
}

}  // namespace

TEST_CASE("fuzz: characterization recipes", "[reliability][fuzz]") {
  Tally t;
  for (const auto& f : corpus("recipes"))
    one(f, t, [&] { (void)xbarkit::characterize::parse_recipe(read(f), f.string(), source_dir() + "/characterization"); });
  report("recipes", t, 90);
}

TEST_CASE("fuzz: crossbar recipes", "[reliability][fuzz]") {
  Tally t;
  const auto dir = scratch("fuzz_xbar");
  for (const auto& f : corpus("crossbars"))
    one(f, t, [&] {
      write(dir / "r.toml", read(f));  // "tech = 7nm" resolves to the shipped models from anywhere
      (void)xbarkit::netlist::load_crossbar_recipe(dir / "r.toml");
    });
  fs::remove_all(dir);
  report("crossbars", t, 70);
}

TEST_CASE("fuzz: MTJ device files", "[reliability][fuzz]") {
  Tally t;
  for (const auto& f : corpus("devices"))
    one(f, t, [&] {
      const auto d = xbarkit::mtj::load_device(f);
      (void)xbarkit::mtj::derive(d);
    });
  report("devices", t, 45);
}

TEST_CASE("fuzz: architecture files", "[reliability][fuzz]") {
  Tally t;
  for (const auto& f : corpus("architectures")) one(f, t, [&] { (void)xbarkit::nn::parse_architecture(read(f), f.string()); });
  report("architectures", t, 70);
}

TEST_CASE("fuzz: safetensors files", "[reliability][fuzz]") {
  const auto arch = xbarkit::nn::load_architecture(kFuzz / "seeds" / "architectures" / "tiny.toml");
  // The seed itself loads (so refusals below are the mutations' doing).
  const auto seed = kFuzz / "seeds" / "safetensors" / "tiny.safetensors";
  REQUIRE_NOTHROW(xbarkit::nn::params_from_tensors(arch, xbarkit::nn::read_safetensors(seed), seed.string()));
  Tally t;
  for (const auto& f : corpus("safetensors"))
    one(f, t, [&] {
      const auto tf = xbarkit::nn::parse_safetensors(read(f), f.string());
      (void)xbarkit::nn::params_from_tensors(arch, tf, f.string());
    });
  report("safetensors", t, 20);
}

TEST_CASE("fuzz: IDX dataset files", "[reliability][fuzz]") {
  const auto seeds = kFuzz / "seeds" / "idx";
  REQUIRE_NOTHROW(xbarkit::nn::load_fashion_mnist(seeds, xbarkit::nn::Split::Test));
  const auto dir = scratch("fuzz_idx");
  Tally t;
  for (const auto& f : corpus("idx")) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const bool images = f.filename().string().find("images") != std::string::npos;
    for (const char* name : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) fs::copy_file(seeds / name, dir / name);
    fs::copy_file(f, dir / (images ? "t10k-images-idx3-ubyte" : "t10k-labels-idx1-ubyte"),
                  fs::copy_options::overwrite_existing);
    one(f, t, [&] { (void)xbarkit::nn::load_fashion_mnist(dir, xbarkit::nn::Split::Test); });
  }
  fs::remove_all(dir);
  report("idx", t, 45);
}

TEST_CASE("fuzz: characterization journals (resume)", "[reliability][fuzz]") {
  const auto seeds = kFuzz / "seeds";
  const auto dir = scratch("fuzz_journal");
  Tally t;
  for (const auto& f : corpus("journals")) {
    fs::remove_all(dir / "b");
    fs::create_directories(dir / "b");
    fs::copy_file(f, dir / "b" / "journal.jsonl");
    xbarkit::characterize::RunOptions o;
    o.output = dir / "b";
    o.resume = true;
    o.progress = xbarkit::ProgressMode::off;
    one(f, t, [&] { (void)xbarkit::characterize::run_characterization(seeds / "journal_recipe.toml", o); });
  }
  fs::remove_all(dir);
  report("journals", t, 20);
}

TEST_CASE("fuzz: bundle manifests (lut.json), as written and re-signed", "[reliability][fuzz]") {
  const auto seed = kFuzz / "seeds" / "bundle";
  REQUIRE_NOTHROW(xbarkit::lut::load_bundle(seed));
  const auto dir = scratch("fuzz_bundle");
  Tally t;
  for (const auto& f : corpus("bundles")) {
    for (bool resign : {false, true}) {
      fs::remove_all(dir / "b");
      fs::copy(seed, dir / "b", fs::copy_options::recursive);
      std::string text = read(f);
      if (resign) {
        // Recompute the manifest digest so the schema checks behind it see the mutation too.
        try {
          auto j = nlohmann::json::parse(text);
          if (!j.is_object()) continue;
          auto copy = j;
          copy.erase("manifest_sha256");
          j["manifest_sha256"] = xbarkit::sha256_hex(copy.dump());
          text = j.dump();
        } catch (const nlohmann::json::exception&) {
          continue;  // not JSON: nothing to re-sign
        }
      }
      write(dir / "b" / "lut.json", text);
      one(f, t, [&] { (void)xbarkit::lut::load_bundle(dir / "b"); });
    }
  }
  fs::remove_all(dir);
  report("bundles", t, 24);
}
