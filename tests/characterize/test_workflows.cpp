// Library workflows the CLI is thin over: cached characterizations, shell quoting of command
// lines, SI-prefixed numbers and sweeps.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "xbarkit/characterize/cache.hpp"
#include "xbarkit/core/command_line.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/units.hpp"

using namespace xbarkit;

TEST_CASE("a cached characterization is reused while its recipe is unchanged and redone when corrupted",
          "[characterize][cache]") {
  const auto dir = test_helpers::temp_dir("cache");
  const auto recipe = dir / "adc.toml";
  std::ofstream(recipe) << "[characterize]\nkind = \"adc\"\nseed = 1\n[adc]\nbits = 3\nfull_scale_A = 1e-4\ncolumns = 2\n";
  std::ostringstream log;
  const auto first = characterize::cached_characterization(recipe, dir / "cache", 1, log);
  CHECK(!first.reused);
  CHECK(first.dir.filename().string().rfind("adc-", 0) == 0);
  const auto second = characterize::cached_characterization(recipe, dir / "cache", 1, log);
  CHECK(second.reused);
  CHECK(second.dir == first.dir);
  // A table edited behind the bundle's back fails its hash: characterized again, not trusted.
  for (const auto& f : std::filesystem::recursive_directory_iterator(first.dir))
    if (f.path().extension() == ".csv") {
      std::ofstream(f.path(), std::ios::app) << "1,2,3\n";
      break;
    }
  const auto third = characterize::cached_characterization(recipe, dir / "cache", 1, log);
  CHECK(!third.reused);
  CHECK(log.str().find("unusable") != std::string::npos);
  // Another recipe text: another cache entry.
  std::ofstream(recipe) << "[characterize]\nkind = \"adc\"\nseed = 2\n[adc]\nbits = 3\nfull_scale_A = 1e-4\ncolumns = 2\n";
  CHECK(characterize::cached_characterization(recipe, dir / "cache", 1, log).dir != first.dir);
}

TEST_CASE("shell quoting round-trips through a POSIX shell's rules", "[core][cli]") {
  CHECK(shell_quote("plain-arg_1.toml") == "plain-arg_1.toml");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_join({"xbarkit", "infer", "--converter", "mtj:stox:4,8", "x y"}) ==
        "xbarkit infer --converter mtj:stox:4,8 'x y'");
  CHECK(this_command_line().find("test_characterize") != std::string::npos);
}

TEST_CASE("SI numbers and sweeps: prefixes, units, and refused input", "[core][units]") {
  CHECK(parse_si("150u", "A", "--current") == Approx(150e-6));
  CHECK(parse_si("150uA", "A", "--current") == Approx(150e-6));
  CHECK(parse_si("10ns", "s", "--pulse") == Approx(10e-9));
  CHECK(parse_si("1.5e-4", "A", "--current") == 1.5e-4);
  CHECK(parse_si("2k", "", "r") == 2000);
  CHECK_THROWS_WITH(parse_si("10q", "s", "--pulse"), Catch::Contains("--pulse") && Catch::Contains("unknown unit"));
  CHECK_THROWS_WITH(parse_si("abc", "s", "--pulse"), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(parse_si("1e400", "", "--x"), Catch::Contains("not finite"));
  CHECK_THROWS_WITH(parse_si("inf", "", "--x"), Catch::Contains("not finite"));
  const auto s = parse_si_sweep("100u:300u:3", "A", "--currents");
  REQUIRE(s.size() == 3);
  CHECK(s[1] == Approx(200e-6));
  CHECK(parse_si_sweep("1u,2u", "A", "--currents").size() == 2);
  // A billion points is refused up front (it used to be allocated and run out of memory).
  CHECK_THROWS_WITH(parse_si_sweep("100u:300u:1000000000", "A", "--currents", 10000), Catch::Contains("more than 10000"));
  CHECK_THROWS_WITH(parse_si_sweep("100u:300u:0", "A", "--currents"), Catch::Contains("positive integer"));
  CHECK_THROWS_WITH(parse_si_sweep("1u:2u", "A", "--currents"), Catch::Contains("A:B:N"));
}
