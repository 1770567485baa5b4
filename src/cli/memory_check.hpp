#pragma once
// Refusing problems that cannot fit in memory before any work starts, with the size and an estimate
// of what they need (instead of std::bad_alloc after seconds or minutes of work).
#include <string>

#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::cli {

// Bytes this process may still allocate: the smaller of MemAvailable (proc(5), /proc/meminfo) and
// the address-space limit RLIMIT_AS (getrlimit(2)) minus what is already mapped.
double available_memory_bytes();

// Estimated peak bytes of each engine on a crossbar (see memory_check.cpp for the sources).
double native_solve_bytes(const netlist::Crossbar& x);
double ngspice_solve_bytes(const netlist::Crossbar& x);
double deck_bytes(const netlist::Crossbar& x);  // peak while the deck text is built and written

// Throws InputError(file, key, "<rows>x<cols> <what> needs about X GiB; Y GiB are available ...")
// when `need_bytes` exceeds what is available.
void require_memory(double need_bytes, const netlist::Crossbar& x, const std::string& what, const std::string& file,
                    const std::string& key);

}  // namespace xbarkit::cli
