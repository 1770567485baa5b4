#include "memory_check.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::cli {

namespace {

double meminfo_kB(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream ss(line.substr(key.size() + 1));
      double kb = 0;
      ss >> kb;
      return kb;
    }
  return -1;
}

double mapped_bytes() {
  std::ifstream in("/proc/self/statm");  // first field: total program size in pages (proc(5))
  double pages = 0;
  in >> pages;
  return pages * 4096.0;
}

std::string kind_name(const netlist::Crossbar& x) { return x.cell ? std::string(x.cell->name()) : std::string("?"); }

}  // namespace

double available_memory_bytes() {
  double avail = std::numeric_limits<double>::infinity();
  const double kb = meminfo_kB("MemAvailable");
  if (kb > 0) avail = kb * 1024.0;
  rlimit rl{};
  if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    avail = std::min(avail, static_cast<double>(rl.rlim_cur) - mapped_bytes());
  return std::max(0.0, avail);
}

double native_solve_bytes(const netlist::Crossbar& x) {
  const double cells = static_cast<double>(x.rows) * x.cols;
  if (kind_name(x) == "passive") {
    // Multifrontal Cholesky with nested dissection: factor entries grow as n log n (George, SIAM J.
    // Numer. Anal. 10, 345, 1973); measured 80 M entries (0.64 GB) at 1024x1024 and ~3.5 GB
    // projected at 2048x2048 (docs/PERFORMANCE.md), i.e. 0.8 GB x (n/n0) log n / log n0 with
    // n0 = 1024^2. Twice that for the update-matrix stack and the nodal matrix beside the factor.
    const double n0 = 1024.0 * 1024.0;
    const double factor = 0.8e9 * (cells / n0) * std::log2(std::max(cells, 2.0)) / std::log2(n0);
    return 2 * factor;
  }
  // Column ladders: a few vectors of doubles per cell (node voltages, Thomas workspace, state):
  // 200 bytes per cell bounds them with room to spare.
  return 200 * cells;
}

double ngspice_solve_bytes(const netlist::Crossbar& x) {
  const double cells = static_cast<double>(x.rows) * x.cols;
  // Peak RSS per cell of ngspice 39 at 64x64 (docs/PERFORMANCE.md): sram8t 986 MiB, rram1t1r
  // 533 MiB, passive 37 MiB for 4096 cells; the deck text and worker add little.
  const std::string kind = kind_name(x);
  const double per_cell = kind == "passive" ? 37.0 / 4096 : kind == "rram1t1r" ? 533.0 / 4096 : 986.0 / 4096;
  return per_cell * 1048576.0 * cells;
}

double deck_bytes(const netlist::Crossbar& x) {
  const double cells = static_cast<double>(x.rows) * x.cols;
  // The deck writer builds the text in one string, then writes it. Measured for a 1024x1024 sram8t
  // deck (the largest per cell of the shipped kinds): 220 MB of text, 231 MB peak RSS (GNU time).
  // Twice the text, 440 bytes per cell, covers a growing string's old and new buffers.
  return 2 * 220 * cells;
}

void require_memory(double need_bytes, const netlist::Crossbar& x, const std::string& what, const std::string& file,
                    const std::string& key) {
  const double avail = available_memory_bytes();
  if (need_bytes <= avail) return;
  throw InputError(file, key,
                   fmt::format("a {}x{} {} array {} needs about {:.3g} GiB of memory; {:.3g} GiB are available. "
                               "Use a smaller array",
                               x.rows, x.cols, kind_name(x), what, need_bytes / 1073741824.0,
                               avail / 1073741824.0));
}

}  // namespace xbarkit::cli
