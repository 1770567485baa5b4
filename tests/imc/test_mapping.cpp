// Mapping, BinSparX and the ideal crossbar path: exactness and the flip invariants.
#include <catch2/catch.hpp>

#include <filesystem>

#include "imc_test_util.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/imc/simulator.hpp"

using namespace xbarkit;
using namespace xbarkit::imc;

namespace {

const char* kModes[] = {"none", "static", "dynamic", "both"};

std::vector<int8_t> random_pm1(size_t n, double p_plus, Rng& rng) {
  std::vector<int8_t> v(n);
  for (auto& x : v) x = rng.uniform() < p_plus ? 1 : -1;
  return v;
}

}  // namespace

TEST_CASE("ideal crossbar matmul equals the exact ±1 product for every mapping, tile size and BinSparX mode",
          "[imc][mapping]") {
  const auto net = imc_test::random_network(imc_test::kSmallCnn, 11, 0.6);
  Rng rng(5, 1);
  for (const char* map : {"xnor", "and"})
    for (int rows : {16, 64, 130, 256})
      for (const char* mode : kModes) {
        SimConfig cfg;
        cfg.mapping = parse_mapping(map);
        cfg.binsparx = parse_binsparx(mode);
        cfg.rows = rows;
        const Simulator sim(net, cfg);
        for (const auto& layer : net.layers()) {
          if (!layer.binary()) continue;
          const size_t P = 5;
          // Skewed inputs, mostly +1 at even positions and mostly −1 at odd ones, so both flip
          // decisions occur.
          std::vector<int8_t> x;
          for (size_t p = 0; p < P; ++p) {
            const auto v = random_pm1(size_t(layer.fan_in), p % 2 ? 0.25 : 0.8, rng);
            x.insert(x.end(), v.begin(), v.end());
          }
          std::vector<int32_t> want(P * size_t(layer.out_channels)), got(want.size());
          nn::ideal_matmul(layer, x.data(), P, want.data());
          sim.matmul(layer, x.data(), P, got.data());
          INFO(map << " rows " << rows << " binsparx " << mode << " layer " << layer.index);
          REQUIRE(got == want);
        }
        const auto tot = sim.total_stats();
        CHECK(tot.ps_wrong == 0);
        CHECK(tot.z_wrong == 0);
        if (cfg.binsparx.static_flip) CHECK(tot.static_flipped > 0);
        if (cfg.binsparx.dynamic_flip) CHECK(tot.dynamic_flipped > 0);
        if (!cfg.binsparx.static_flip) CHECK(tot.static_flipped == 0);
        if (!cfg.binsparx.dynamic_flip) CHECK(tot.dynamic_flipped == 0);
      }
}

TEST_CASE("ideal crossbar predictions equal the software network's on random images", "[imc][mapping]") {
  for (const char* arch : {imc_test::kSmallCnn, imc_test::kSmallMlp}) {
    const auto net = imc_test::random_network(arch, 3, 0.35);
    const auto data = imc_test::random_images(net, 60, 9);
    const auto soft = net.predict_all(data, 0, 2);
    for (const char* map : {"xnor", "and"})
      for (const char* mode : kModes) {
        SimConfig cfg;
        cfg.mapping = parse_mapping(map);
        cfg.binsparx = parse_binsparx(mode);
        cfg.rows = 64;
        const Simulator sim(net, cfg);
        INFO(net.architecture().name << " " << map << " " << mode);
        CHECK(sim.predict_all(data, 0, 2) == soft);
        // The hook used directly through Network::predict_all gives the same.
        CHECK(net.predict_all(data, 0, 2, &sim) == soft);
      }
  }
}

TEST_CASE("shipped CNN: ideal crossbar predictions equal software on Fashion-MNIST test images", "[imc][mapping]") {
  const auto base = models_dir() / "networks" / "bnn_cnn";
  if (!std::filesystem::exists(base.string() + ".safetensors")) {
    WARN("models/networks/bnn_cnn.safetensors is not there yet; the CLI check in docs/VALIDATION.md covers it");
    return;
  }
  const auto net = nn::load_network(base);
  const auto data = nn::load_fashion_mnist(nn::Split::Test).head(120);
  const auto soft = net.predict_all(data, 0, 2);
  for (const char* map : {"xnor", "and"})
    for (const char* mode : kModes) {
      SimConfig cfg;
      cfg.mapping = parse_mapping(map);
      cfg.binsparx = parse_binsparx(mode);
      cfg.rows = 128;
      const Simulator sim(net, cfg);
      INFO(map << " " << mode);
      CHECK(sim.predict_all(data, 0, 2) == soft);
    }
}

TEST_CASE("after static flips no tile column has more +1 than -1 weights", "[imc][binsparx]") {
  for (double density : {0.2, 0.5, 0.8}) {
    const auto net = imc_test::random_network(imc_test::kSmallMlp, 21, density);
    for (const char* map : {"xnor", "and"})
      for (int rows : {16, 64, 100}) {
        if (std::string(map) == "xnor" && rows % 2) continue;
        for (const auto& layer : net.layers()) {
          if (!layer.binary()) continue;
          const LayerMapping m(layer, parse_mapping(map), rows, true);
          const LayerMapping plain(layer, parse_mapping(map), rows, false);
          int flipped = 0, would = 0;
          for (int t = 0; t < m.tiles(); ++t)
            for (int o = 0; o < layer.out_channels; ++o) {
              int plus = 0, plus_orig = 0;
              for (int i = 0; i < m.slice_size(t); ++i) {
                plus += m.stored_weight(t, o, i) > 0;
                plus_orig += layer.weight(o, m.slice_begin(t) + i) > 0;
                // The stored column is the network's column, negated iff flipped.
                REQUIRE(m.stored_weight(t, o, i) == (m.flipped(t, o) ? -1 : 1) * layer.weight(o, m.slice_begin(t) + i));
                REQUIRE(plain.stored_weight(t, o, i) == layer.weight(o, m.slice_begin(t) + i));
              }
              REQUIRE(2 * plus <= m.slice_size(t));
              REQUIRE(plus == m.weight_plus(t, o));
              flipped += m.flipped(t, o);
              would += 2 * plus_orig > m.slice_size(t);
            }
          CHECK(flipped == would);  // flips exactly the columns that had more +1
        }
      }
  }
}

TEST_CASE("after dynamic flips no tile input slice has more +1 than -1 activations", "[imc][binsparx]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 2);
  const auto& layer = net.layers()[1];
  Rng rng(8, 0);
  for (const char* map : {"xnor", "and"})
    for (int rows : {16, 64, 128}) {
      const LayerMapping m(layer, parse_mapping(map), rows, false);
      std::vector<uint64_t> active(size_t(m.words()));
      int flips = 0;
      for (int trial = 0; trial < 200; ++trial) {
        const auto x = random_pm1(size_t(layer.fan_in), rng.uniform(), rng);
        for (int t = 0; t < m.tiles(); ++t) {
          const auto d = m.drive(x.data(), t, true, active.data());
          // Decode the applied slice from the driven rows.
          int plus = 0;
          for (int i = 0; i < m.slice_size(t); ++i) {
            const int r = m.mapping() == Mapping::Xnor ? 2 * i : i;
            const bool on = (active[size_t(r / 64)] >> (r % 64)) & 1;
            plus += on;
            REQUIRE((on ? 1 : -1) == (d.flipped ? -1 : 1) * x[size_t(m.slice_begin(t) + i)]);
            if (m.mapping() == Mapping::Xnor) REQUIRE(((active[size_t((r + 1) / 64)] >> ((r + 1) % 64)) & 1) == !on);
          }
          REQUIRE(2 * plus <= m.slice_size(t));
          REQUIRE(plus == d.x_plus);
          REQUIRE(d.flipped == (2 * m.count_plus(x.data(), t) > m.slice_size(t)));
          flips += d.flipped;
        }
      }
      CHECK(flips > 0);
    }
}

TEST_CASE("BinSparX halves the conducting cells per weight against XNOR on unbiased data", "[imc][binsparx]") {
  // XNOR conducts one of two cells per matching input: about 1/2 per weight on unbiased data. AND with both
  // flips conducts [w'=+1][x'=+1] with both densities <= 1/2: at most 1/4, a bit less for finite slices.
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 4, 0.5);
  const auto data = imc_test::random_images(net, 40, 1);
  auto run = [&](const char* map, const char* mode) {
    SimConfig cfg;
    cfg.mapping = parse_mapping(map);
    cfg.binsparx = parse_binsparx(mode);
    cfg.rows = 64;
    const Simulator sim(net, cfg);
    sim.predict_all(data, 0, 2);
    return sim.total_stats();
  };
  const auto xnor = run("xnor", "none"), both = run("and", "both"), andp = run("and", "none");
  CHECK(xnor.conducting_per_weight() == Approx(0.5).margin(0.03));
  CHECK(both.conducting_per_weight() < 0.25);
  CHECK(1 - both.conducting_per_weight() / xnor.conducting_per_weight() > 0.5);
  CHECK(both.conducting_per_weight_plain() == Approx(andp.conducting_per_weight()));
  CHECK(both.conducting < both.conducting_plain);
}

TEST_CASE("evaluation JSON carries accuracy, images and conducting_fraction", "[imc][report]") {
  const auto net = imc_test::random_network(imc_test::kSmallMlp, 5);
  const auto data = imc_test::random_images(net, 20, 4);
  const auto soft = net.predict_all(data, 0, 1);
  SimConfig cfg;
  cfg.rows = 32;
  cfg.mapping = Mapping::And;
  cfg.binsparx = parse_binsparx("both");
  const auto e = evaluate(net, data, cfg, 0, 2, &soft);
  const auto j = e.to_json();
  CHECK(j.at("images").get<size_t>() == 20);
  CHECK(j.at("accuracy").get<double>() == Approx(nn::Network::accuracy(soft, data)));
  CHECK(j.at("agreement_with_software").get<double>() == 1.0);
  CHECK(j.at("conducting_fraction").get<double>() == Approx(double(e.total.conducting) / double(e.total.cells)));
  CHECK(j.at("conducting_fraction").get<double>() > 0.0);
  CHECK(j.at("conducting_fraction").get<double>() < 0.5);
  CHECK(j.at("layers").size() == 2);
  CHECK(j.at("config").at("binsparx") == "both");
  CHECK_THROWS_WITH(parse_binsparx("sometimes"), Catch::Contains("none | static | dynamic | both"));
  CHECK_THROWS_WITH(parse_mapping("or"), Catch::Contains("xnor | and"));
}
