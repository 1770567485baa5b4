#pragma once
// The one owner of ngspice's shared library in a process. ngspice keeps global state and is not
// reentrant, so at most one Session exists per process; parallel runs go to worker processes
// (worker_pool.hpp), which also contain its crashes.
#include <map>
#include <string>
#include <vector>

#include "xbarkit/core/error.hpp"

namespace xbarkit::spice {

// ngspice reported an error; what() carries ngspice's own messages.
class SpiceError : public SolverError {
public:
  using SolverError::SolverError;
};

struct OpResult {
  std::map<std::string, double> values;   // requested vectors (lower-case names)
  double elapsed_s = 0;                    // load + operating point
  // How ngspice reached the operating point: "newton" (its DC Newton converged directly), or the
  // fallback it needed: "gmin stepping", "source stepping" or "transient op". The last is the end
  // state of a pseudo-transient run, settled to transient tolerances rather than converged to the
  // deck's reltol: expect ~1e-6 relative differences from an exact DC solution.
  std::string method = "newton";
};

// The fallback named by ngspice's messages during an "op" (see OpResult::method).
std::string op_method_from_messages(const std::vector<std::string>& lines);

class Session {
public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Loads a deck (netlist text). The previous circuit and its results are removed first. OSDI files
  // named by "pre_osdi" lines in a .control block are loaded before the netlist is parsed.
  void load(const std::string& deck);
  // Runs the deck's analysis (".op") and returns the requested vectors, e.g. "vsense0#branch",
  // "v(bl0_0)". Throws SpiceError with ngspice's messages if the run fails or a vector is missing.
  OpResult run_op(const std::vector<std::string>& vectors);
  // The real values of a vector of the current plot (e.g. a dc sweep's "vdx#branch" or "xdx").
  // Throws SpiceError if the plot has no such real vector.
  std::vector<double> vector(const std::string& name);
  // All vector names of the current plot.
  std::vector<std::string> vector_names();
  // One ngspice command; throws SpiceError if ngspice reports an error.
  void command(const std::string& cmd);

  // Everything ngspice printed to stderr since the last load (diagnostics).
  const std::vector<std::string>& errors() const { return stderr_lines_; }
  bool alive() const { return alive_; }

  // A forked worker process inherits its parent's bookkeeping, not a usable session: it calls this
  // before creating its own.
  static void forget_inherited_session();

private:
  static int on_output(char* text, int id, void* self);
  static int on_exit(int status, bool immediate, bool quit, int id, void* self);
  [[noreturn]] void fail(const std::string& what) const;

  std::vector<std::string> stderr_lines_;
  bool alive_ = true;
  int exit_status_ = 0;
};

}  // namespace xbarkit::spice
