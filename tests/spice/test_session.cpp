// The ngspice engine: errors carry ngspice's own messages; worker processes isolate failures.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/session.hpp"
#include "xbarkit/spice/worker_pool.hpp"

using namespace xbarkit;

namespace {
const char* kNoSolution =
    "no DC solution\nV1 a 0 1\nR1 a b 1\nB1 b 0 I = V(b) > 0.5 ? 1 : -1\n.op\n.end\n";
}

TEST_CASE("a deck without a DC solution raises SpiceError with ngspice's message", "[spice][errors]") {
  spice::Session s;
  s.load(kNoSolution);
  try {
    s.run_op({"v(b)"});
    FAIL("non-convergent deck returned a result");
  } catch (const spice::SpiceError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("Timestep too small") != std::string::npos);
  }
}

TEST_CASE("a broken netlist raises SpiceError naming the problem", "[spice][errors]") {
  spice::Session s;
  try {
    s.load("broken\nV1 a 0 1\nX1 a 0 no_such_subckt\n.op\n.end\n");
    s.run_op({"v(a)"});
    FAIL("broken deck accepted");
  } catch (const spice::SpiceError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("no_such_subckt") != std::string::npos);
  }
  // The session stays usable after a failed deck.
  s.load("ok\nV1 a 0 1\nR1 a 0 2\n.op\n.end\n");
  CHECK(s.run_op({"v1#branch"}).values.at("v1#branch") == Approx(-0.5));
}

TEST_CASE("only one Session per process", "[spice]") {
  spice::Session s;
  CHECK_THROWS_AS(spice::Session(), Error);
}

TEST_CASE("worker pool: several decks on 2 workers, a failing one is reported, the rest complete",
          "[spice][workers]") {
  std::vector<spice::SpiceJob> jobs;
  for (int k = 1; k <= 5; ++k)
    jobs.push_back({fmt::format("divider {}\nV1 a 0 {}\nR1 a b 1k\nR2 b 0 1k\n.op\n.end\n", k, k), {"v(b)"}});
  jobs.insert(jobs.begin() + 2, spice::SpiceJob{kNoSolution, {"v(b)"}});
  // A real crossbar deck too.
  auto x = netlist::make_crossbar(netlist::load_technology("7nm"), "sram8t", 2, 2);
  x.inputs = {1, 1};
  x.weights = {1, 0, 1, 1};
  jobs.push_back(spice::crossbar_job(x));

  spice::WorkerPool pool(2);
  std::vector<size_t> order;
  const auto results = pool.run(jobs, [&](size_t i, const spice::SpiceJobResult&) { order.push_back(i); });
  REQUIRE(results.size() == jobs.size());
  CHECK(order.size() == jobs.size());
  CHECK_FALSE(results[2].ok);
  CHECK(results[2].error.find("Timestep too small") != std::string::npos);
  int k = 1;
  for (size_t i = 0; i < 6; ++i) {
    if (i == 2) continue;
    REQUIRE(results[i].ok);
    CHECK(results[i].values.at("v(b)") == Approx(k / 2.0).epsilon(1e-9));
    ++k;
  }
  const auto op = spice::decode_crossbar_result(x, results.back());
  CHECK(op.column_current_A[0] > 2 * 12e-6);  // two conducting 8T cells at 0.3 V, ~12.6 uA each
  CHECK(op.column_current_A[1] > 12e-6);
  CHECK(op.column_current_A[1] < op.column_current_A[0]);
}

TEST_CASE("worker pool reports a worker killed mid-job and completes the rest", "[spice][workers]") {
  // Job 1 is a 40x40 8T array (about a second in ngspice); the others are trivial. When the first
  // trivial job finishes, the worker busy with job 1 is killed, as a crash or the OOM killer would.
  auto big = netlist::make_crossbar(netlist::load_technology("7nm"), "sram8t", 40, 40);
  big.inputs.assign(big.inputs.size(), 1);
  big.weights.assign(big.weights.size(), 1);
  std::vector<spice::SpiceJob> jobs;
  jobs.push_back({"d0\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n", {"v1#branch"}});
  jobs.push_back(spice::crossbar_job(big));
  for (int k = 2; k <= 4; ++k)
    jobs.push_back({fmt::format("d{}\nV1 a 0 {}\nR1 a 0 1k\n.op\n.end\n", k, k), {"v1#branch"}});
  spice::WorkerPool pool(2);
  bool killed = false;
  const auto results = pool.run(jobs, [&](size_t, const spice::SpiceJobResult&) {
    if (killed) return;
    for (int pid : pool.busy_worker_pids()) ::kill(pid, SIGKILL);
    killed = true;
  });
  CHECK_FALSE(results[1].ok);
  CHECK(results[1].error.find("signal 9") != std::string::npos);
  for (size_t k : {0, 2, 3, 4}) {
    REQUIRE(results[k].ok);
    CHECK(results[k].values.at("v1#branch") == Approx(k == 0 ? -1e-3 : -double(k) / 1000.0));
  }
}

TEST_CASE("worker pool restarts workers after a job budget", "[spice][workers]") {
  std::vector<spice::SpiceJob> jobs;
  for (int k = 1; k <= 4; ++k)
    jobs.push_back({fmt::format("d{}\nV1 a 0 {}\nR1 a 0 1k\n.op\n.end\n", k, k), {"v1#branch"}});
  spice::WorkerPool pool(1, 1);  // a fresh process per job, as the memory benchmark uses
  const auto results = pool.run(jobs);
  for (int k = 1; k <= 4; ++k) {
    REQUIRE(results[k - 1].ok);
    CHECK(results[k - 1].values.at("v1#branch") == Approx(-k / 1000.0));
    CHECK(results[k - 1].peak_rss_kB > 0);
  }
}

TEST_CASE("the operating point says which ngspice fallback produced it", "[spice]") {
  spice::Session s;
  s.load("linear\nV1 a 0 1\nR1 a 0 2\n.op\n.end\n");
  CHECK(s.run_op({"v1#branch"}).method == "newton");
  // A diode-like source with a 5 mV "thermal voltage": ngspice's plain Newton from 0 V overflows
  // exp() and it needs dynamic gmin stepping ("Starting dynamic gmin stepping" in its log).
  s.load("hard\nV1 a 0 1\nR1 a b 1k\nB1 b 0 I = 1e-12*(exp(V(b)/0.005)-1)\n"
         ".options reltol=1e-7 vntol=1e-10 abstol=1e-15\n.op\n.end\n");
  const auto r = s.run_op({"v(b)"});
  CHECK(r.method == "gmin stepping");
  // The stepped answer is still the DC solution: (1 - v)/1k = 1e-12 (exp(v/5mV) - 1), by Newton.
  double v = 0.1;
  for (int k = 0; k < 50; ++k) {
    const double f = (1 - v) / 1e3 - 1e-12 * (std::exp(v / 0.005) - 1), df = -1e-3 - 1e-12 / 0.005 * std::exp(v / 0.005);
    v -= f / df;
  }
  CHECK(r.values.at("v(b)") == Approx(v).epsilon(1e-6));  // ngspice's reltol 1e-7 on the node voltage, x10
  // Message sequences as ngspice 39 prints them (from a 64x64 8T deck that ended in a transient op).
  CHECK(spice::op_method_from_messages({"Note: Starting dynamic gmin stepping", "Warning: Dynamic gmin stepping failed",
                                        "Supplies reduced to  91.3850% Warning: source stepping failed",
                                        "Note: Transient op started", "Note: Transient op finished successfully"}) ==
        "transient op");
  CHECK(spice::op_method_from_messages({"Warning: Dynamic gmin stepping failed", "Note: Starting true gmin stepping",
                                        "Warning: True gmin stepping failed", "Note: Starting source stepping",
                                        "Supplies reduced to 100.0000% Note: One successful source step"}) ==
        "source stepping");
  CHECK(spice::op_method_from_messages({"Note: No compatibility mode selected!"}) == "newton");
}
