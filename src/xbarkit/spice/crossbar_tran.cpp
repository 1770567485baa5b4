#include "xbarkit/spice/crossbar_tran.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>

#include <fmt/format.h>

#include "xbarkit/netlist/deck_writer.hpp"

namespace xbarkit::spice {

std::string tran_deck(const netlist::Crossbar& xbar, double t_stop_s, double t_max_step_s, double reltol,
                      bool mvs_auxiliary_nodes) {
  netlist::DeckOptions o;
  o.title = "xbarkit read transient";
  o.tran = netlist::DeckOptions::Tran{t_stop_s, t_max_step_s, reltol, mvs_auxiliary_nodes};
  return netlist::write_deck(xbar, o);
}

CrossbarTran run_crossbar_tran(Session& session, const netlist::Crossbar& xbar, double t_stop_s, double t_max_step_s,
                               double reltol, bool mvs_auxiliary_nodes) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string deck = tran_deck(xbar, t_stop_s, t_max_step_s, reltol, mvs_auxiliary_nodes);
  session.load(deck);
  session.command("run");
  CrossbarTran out;
  out.t = session.vector("time");
  for (int j = 0; j < xbar.cols; ++j) out.sense_A.push_back(session.vector(netlist::sense_vector_name(j)));
  // Every independent source with its negative node at ground: its delivered power.
  std::istringstream lines(deck);
  std::string line;
  bool in_array = false;
  while (std::getline(lines, line)) {
    if (line.rfind(".options", 0) == 0) in_array = true;  // sources of the array follow the options line
    if (!in_array || line.empty() || (line[0] != 'V' && line[0] != 'v')) continue;
    std::istringstream tok(line);
    std::string name, np, nn;
    tok >> name >> np >> nn;
    // 0 V sense sources deliver no energy (their current is the column's, reported separately).
    if (nn != "0" || np == "0" || name.rfind("VSENSE", 0) == 0) continue;
    auto lower = [](std::string s) {
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    const auto i = session.vector(lower(name) + "#branch");
    const auto v = session.vector(lower(np));
    std::vector<double> p(i.size());
    for (size_t k = 0; k < i.size(); ++k) p[k] = -v[k] * i[k];
    out.source_power_W.emplace_back(name, std::move(p));
  }
  out.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace xbarkit::spice
