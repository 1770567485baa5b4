// Defects 2-4 and 7-9: overflowing counts, internal errors instead of input errors, unvalidated
// characterize-cell grids, silently ignored options, netlist inputs, and outputs checked only after
// the work. Each case is the campaign's reproducing command; each must end in exit 1 with a message
// naming the option/key, quickly, and leave nothing behind.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "util.hpp"
#include "xbarkit/core/file_io.hpp"

using namespace rel;

namespace {

// Exit 1 ("xbarkit: error: ..."), the message names `key`, and it took less than `max_s`.
void refused(const Run& r, const std::string& key, double max_s = 10) {
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("xbarkit: error:") && Catch::Contains(key));
  CHECK_THAT(r.out, !Catch::Contains("unexpected error"));
  CHECK(r.seconds < max_s);
}

// CLI11's own refusal of an option value (exit 105..109 per its ExitCodes), naming the option.
void refused_by_parser(const Run& r, const std::string& option) {
  INFO(r.out);
  CHECK(r.code != 0);
  CHECK(r.code != 2);
  CHECK(r.code < 124);
  CHECK_THAT(r.out, Catch::Contains(option));
}

const char* kSram4 = "[array]\nrows = 4\ncols = 4\ncell = \"sram8t\"\n[stimulus]\ninputs = \"1101\"\nweights = \"random\"\nseed = 3\n";

}  // namespace

TEST_CASE("overflow: step counts, patterns, trials and seeds are range-checked before conversion",
          "[reliability][overflow]") {
  const auto dir = scratch("overflow");
  // (uint64_t)ceil(t_end / dt) overflowed to 0 steps and printed P_sw = 0 with exit 0.
  refused(cli("mtj psw sot_imtj_typey --currents 100u:300u:3 --pulse 10n --dt 1e-30 --trials 10"), "--dt");
  refused(cli("mtj trace sot_imtj_typey --current 100u --pulse 10n --dt 1e-30 -o -"), "--dt");
  // 4294967297 = 2^32 + 1 became 1 after static_cast<int>.
  write(dir / "patterns.toml", "[characterize]\nkind = \"array_ps\"\n[array_ps]\nrows = [16]\npatterns = 4294967297\n");
  refused(cli("characterize " + (dir / "patterns.toml").string() + " -o " + (dir / "p").string()), "array_ps.patterns");
  write(dir / "trials.toml", "[characterize]\nkind = \"mtj_psw\"\n[mtj_psw]\ndevices = [\"sot_imtj_typey\"]\ntrials = 4294967297\n");
  refused(cli("characterize " + (dir / "trials.toml").string() + " -o " + (dir / "t").string()), "mtj_psw.trials");
  write(dir / "spice_patterns.toml", "[characterize]\nkind = \"array_ps\"\n[array_ps]\nrows = [16]\n[array_ps.spice_check]\n"
                                     "rows = 16\npatterns = 4294967297\n");
  refused(cli("characterize " + (dir / "spice_patterns.toml").string() + " -o " + (dir / "s").string()), "patterns");
  CHECK_FALSE(fs::exists(dir / "p"));
  CHECK_FALSE(fs::exists(dir / "t"));
  // Architecture integers: classes = 2^32 + 2 became 2, out = 2^32 + 1 became 1, seed = -1 wrapped.
  const std::string arch = "format = \"xbarkit-bnn-1\"\nname = \"a\"\ninput = [1, 4, 4]\n";
  write(dir / "classes.toml", arch + "classes = 4294967298\n[[layer]]\ntype = \"dense\"\nout = 2\n");
  refused(cli("eval " + (dir / "classes.toml").string()), "classes");
  write(dir / "out.toml", arch + "classes = 2\n[[layer]]\ntype = \"dense\"\nout = 4294967297\n[[layer]]\ntype = \"dense\"\nout = 2\n");
  refused(cli("eval " + (dir / "out.toml").string()), "layer[0].out");
  write(dir / "seed.toml", arch + "classes = 2\n[train]\nseed = -1\n[[layer]]\ntype = \"dense\"\nout = 2\n");
  refused(cli("eval " + (dir / "seed.toml").string()), "train.seed");
  // Unsigned options took -1 as 2^64 - 1.
  refused_by_parser(cli("infer --seed -1 --images 1"), "--seed");
  refused_by_parser(cli("mtj psw sot_imtj_typey --currents 100u --pulse 1n --seed -1"), "--seed");
  refused_by_parser(cli("eval " + source_dir() + "/models/networks/bnn_mlp.toml --threads -1"), "--threads");
  refused_by_parser(cli("infer --threads 1000000 --images 1"), "--threads");
  fs::remove_all(dir);
}

TEST_CASE("internal errors become input errors naming the file and key", "[reliability][errors]") {
  const auto dir = scratch("internal");
  // wire_scale = [inf]: a json type_error and a bundle that later crashed lut check.
  write(dir / "inf.toml", "[characterize]\nkind = \"array_ps\"\n[array_ps]\nrows = [16]\nwire_scale = [1, inf]\n");
  refused(cli("characterize " + (dir / "inf.toml").string() + " -o " + (dir / "b").string()), "array_ps.wire_scale");
  CHECK_FALSE(fs::exists(dir / "b"));
  write(dir / "nan.toml", "[characterize]\nkind = \"mtj_psw\"\n[mtj_psw]\ndevices = [\"sot_imtj_typey\"]\ndt_s = nan\n");
  refused(cli("characterize " + (dir / "nan.toml").string() + " -o " + (dir / "b").string()), "mtj_psw.dt_s");
  // current_points = 2e9 and --currents ...:1e9: bad_alloc after 15-20 s.
  write(dir / "points.toml", "[characterize]\nkind = \"mtj_psw\"\n[mtj_psw]\ndevices = [\"sot_imtj_typey\"]\n"
                             "current_points = 2000000000\n");
  refused(cli("characterize " + (dir / "points.toml").string() + " -o " + (dir / "b").string()),
          "mtj_psw.current_points", 3);
  refused(cli("mtj psw sot_imtj_typey --currents 100u:300u:1000000000 --pulse 10n"), "--currents", 3);
  // Device thickness_nm = inf: Boost ellint_rd iteration limit.
  auto dev = read(source_dir() + "/models/mtj/sot_imtj_typey.toml");
  const auto pos = dev.find("thickness_nm = 2.0");
  REQUIRE(pos != std::string::npos);
  dev.replace(pos, 18, "thickness_nm = inf");
  write(dir / "dev.toml", dev);
  refused(cli("mtj info " + (dir / "dev.toml").string()), "free_layer.thickness_nm", 3);
  // Journals of valid JSON but the wrong shape.
  write(dir / "adc.toml", "[characterize]\nkind = \"adc\"\nseed = 4\nthreads = 1\n[adc]\nbits = 4\nfull_scale_A = 1e-3\n"
                          "columns = 8\ncolumns_per_point = 4\n");
  for (const std::string bad : {"{}", "{\"i\":\"seven\",\"id\":\"x\",\"ok\":true}", "[1,2,3]", "{\"i\":0}"}) {
    const auto out = dir / "j";
    fs::remove_all(out);
    REQUIRE(cli("characterize " + (dir / "adc.toml").string() + " -o " + out.string() + " --no-progress").code == 0);
    auto journal = read(out / "journal.jsonl");
    journal = journal.substr(0, journal.find('\n') + 1) + bad + "\n";  // header + the bad line
    fs::remove(out / "lut.json");
    write(out / "journal.jsonl", journal);
    refused(cli("characterize " + (dir / "adc.toml").string() + " -o " + out.string() + " --resume"), "line 2");
  }
  // Output on a filesystem that refuses it (procfs: no directories can be made there).
  refused(cli("characterize " + (dir / "adc.toml").string() + " -o /proc/xbarkit_out/b"), "/proc/xbarkit_out");
  // run --cache naming a regular file: uncaught filesystem_error.
  write(dir / "cache_file", "x");
  refused(cli("run --cache " + (dir / "cache_file").string() + " --images 1"), "cache_file", 30);
  fs::remove_all(dir);
}

TEST_CASE("arrays too large for memory are refused up front with the size and an estimate", "[reliability][memory]") {
  const auto dir = scratch("memory");
  // A 4 GiB address-space limit makes the outcome independent of the machine's RAM (the 4096x4096
  // deck alone is ~3.7 GB of text; the passive factor ~15 GB).
  const std::string limit = "ulimit -v 4194304;";
  write(dir / "passive.toml", "[array]\nrows = 4096\ncols = 4096\ncell = \"passive\"\n[stimulus]\ninputs = \"ones\"\n"
                              "weights = \"ones\"\n");
  auto r = cli("solve " + (dir / "passive.toml").string() + " --engine native", 60, limit);
  refused(r, "array", 10);
  CHECK_THAT(r.out, Catch::Contains("4096x4096") && Catch::Contains("GiB"));
  write(dir / "sram.toml", "[array]\nrows = 4096\ncols = 4096\ncell = \"sram8t\"\n[stimulus]\ninputs = \"ones\"\n"
                           "weights = \"ones\"\n");
  r = cli("netlist " + (dir / "sram.toml").string() + " -o " + (dir / "deck.cir").string(), 60, limit);
  refused(r, "array", 10);
  CHECK_THAT(r.out, Catch::Contains("4096x4096") && Catch::Contains("deck"));
  CHECK_FALSE(fs::exists(dir / "deck.cir"));
  r = cli("solve " + (dir / "sram.toml").string() + " --engine ngspice", 60, limit);
  refused(r, "array", 10);
  fs::remove_all(dir);
}

TEST_CASE("characterize-cell validates its grid before ngspice sees it", "[reliability][errors]") {
  const auto dir = scratch("cellgrid");
  write(dir / "r.toml", kSram4);
  const auto base = "characterize-cell " + (dir / "r.toml").string() + " -o " + (dir / "t.json").string();
  refused(cli(base + " --step 0", 20), "--step", 3);     // hung in ngspice's dc
  refused(cli(base + " --step 1e-9", 20), "--step", 3);  // hung: 9e8 points per axis
  refused(cli(base + " --step nan", 20), "--step", 3);
  refused(cli(base + " --v-min 1 --v-max 0", 20), "--v-max", 3);
  refused(cli(base + " --v-min nan", 20), "--v-min", 3);
  CHECK_FALSE(fs::exists(dir / "t.json"));
  fs::remove_all(dir);
}

TEST_CASE("infer refuses options it would ignore or substitute", "[reliability][options]") {
  refused(cli("infer --lut-mean --images 1"), "--lut-mean");
  refused(cli("infer --exact --array-lut somewhere --images 1"), "--array-lut");
  refused(cli("infer --exact --lut-mean --array-lut somewhere --converter calibrated --images 1"), "--lut-mean");
  refused(cli("infer --wire-scale nan --images 1"), "--wire-scale");
}

TEST_CASE("infer --wire-scale must name a scale the array LUT has", "[reliability][options]") {
  const auto dir = scratch("wirescale");
  write(dir / "r.toml", "[characterize]\nkind = \"array_ps\"\nseed = 2\nthreads = 2\n[array_ps]\ncells = [\"sram8t\"]\n"
                        "rows = [16]\nwire_scale = [1, 2]\npatterns = 30\nholdout_patterns = 10\n");
  REQUIRE(cli("characterize " + (dir / "r.toml").string() + " -o " + (dir / "b").string() + " --no-progress", 120).code == 0);
  const auto common = " --array-lut " + (dir / "b").string() + " --rows 16 --images 20 --json";
  // x100 used the x2 table while reporting "wires x100".
  auto r = cli("infer --wire-scale 100" + common);
  refused(r, "--wire-scale", 30);
  CHECK_THAT(r.out, Catch::Contains("1, 2"));
  r = cli("infer --wire-scale 2" + common);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out.substr(r.out.find('{'))).at("config").at("wire_scale").get<double>() == 2.0);
  // A re-signed lut.json whose wire_scale attribute is null (the shape a [inf] recipe once left):
  // an input error naming the bundle, not a json type_error.
  auto j = nlohmann::json::parse(read(dir / "b" / "lut.json"));
  for (auto& t : j["tables"])
    if (t["attributes"].contains("wire_scale")) t["attributes"]["wire_scale"] = nullptr;
  auto copy = j;
  copy.erase("manifest_sha256");
  j["manifest_sha256"] = xbarkit::sha256_hex(copy.dump());
  write(dir / "b" / "lut.json", j.dump());
  refused(cli("infer --wire-scale 2" + common), "wire_scale");
  fs::remove_all(dir);
}

TEST_CASE("netlist refuses infinite wires, directory model libraries and directory weight files",
          "[reliability][errors]") {
  const auto dir = scratch("netlist_inputs");
  write(dir / "inf.toml", std::string(kSram4) + "[parasitics]\nr_bitline = inf\n");
  refused(cli("netlist " + (dir / "inf.toml").string() + " -o " + (dir / "d.cir").string()), "parasitics.r_bitline");
  fs::create_directories(dir / "lib");
  write(dir / "lib.toml", std::string(kSram4) + "[models]\nlibrary = \"lib\"\n");
  refused(cli("netlist " + (dir / "lib.toml").string() + " -o " + (dir / "d.cir").string()), "models.library");
  fs::create_directories(dir / "wdir");
  auto w = std::string(kSram4);
  w.replace(w.find("weights = \"random\""), 18, "weights = \"wdir\"");
  write(dir / "w.toml", w);
  auto r = cli("netlist " + (dir / "w.toml").string() + " -o " + (dir / "d.cir").string());
  refused(r, "stimulus.weights");
  CHECK_THAT(r.out, !Catch::Contains("0 rows"));
  CHECK_FALSE(fs::exists(dir / "d.cir"));
  fs::remove_all(dir);
}

TEST_CASE("outputs are checked before the work: train and characterize-cell fail at once", "[reliability][outputs]") {
  const auto dir = scratch("outputs");
  auto r = cli("train " + source_dir() + "/models/networks/bnn_mlp.toml -o /nonexistent/x.safetensors --epochs 1");
  refused(r, "--output", 5);
  write(dir / "r.toml", kSram4);
  r = cli("characterize-cell " + (dir / "r.toml").string() + " -o /nonexistent/t.json");
  refused(r, "--output", 5);
  r = cli("mtj trace sot_imtj_typey --current 100u --pulse 1n -o " + dir.string());
  refused(r, "--output", 5);
  fs::remove_all(dir);
}
