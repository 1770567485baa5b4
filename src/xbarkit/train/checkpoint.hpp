#pragma once
// The parts of a training checkpoint both libtorch trainers share (trainer.cpp for binary networks,
// real_trainer.cpp for real-valued ones): the fingerprint, progress, generator state and shuffle order
// of a torch archive, and its reading with errors that name the file. Included only by those two
// translation units (it pulls in libtorch).
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/rng.hpp"

namespace xbarkit::train::checkpoint {

// A generator's full state as text (hex float for the spare normal, so it round-trips exactly).
inline std::string rng_string(const Rng& rng) {
  const auto st = rng.state();
  return fmt::format("{} {} {} {} {:a} {}", st.s[0], st.s[1], st.s[2], st.s[3], st.spare, int(st.has_spare));
}

inline void rng_from_string(Rng& rng, const std::string& s, const std::string& file, const std::string& key) {
  Rng::State st{};
  int has = 0;
  std::istringstream rs(s);
  std::string spare;
  rs >> st.s[0] >> st.s[1] >> st.s[2] >> st.s[3] >> spare >> has;
  if (!rs) throw InputError(file, key, "malformed generator state");
  st.spare = std::strtod(spare.c_str(), nullptr);
  st.has_spare = has != 0;
  rng.set_state(st);
}

// fingerprint, epoch, step and the shuffle order.
inline void write_progress(torch::serialize::OutputArchive& ar, const std::string& fingerprint, int epoch, int64_t step,
                           const std::vector<uint32_t>& order) {
  ar.write("fingerprint", c10::IValue(fingerprint));
  ar.write("epoch", c10::IValue(int64_t(epoch)));
  ar.write("step", c10::IValue(step));
  ar.write("order", torch::from_blob(const_cast<uint32_t*>(order.data()), {int64_t(order.size())}, torch::kInt32).clone());
}

// Opens `path` as a torch archive (an unreadable file is an InputError naming it).
inline torch::serialize::InputArchive open(const std::filesystem::path& path) {
  torch::serialize::InputArchive ar;
  try {
    std::istringstream is(read_text_file(path));
    ar.load_from(is);
  } catch (const c10::Error&) {
    throw InputError(path.string(), "", "is not an xbarkit training checkpoint (torch archive unreadable)");
  }
  return ar;
}

// Checks the fingerprint (`what` lists what it covers, for the message), reads step and order and
// returns the last finished epoch. torch's own errors propagate as c10::Error.
inline int read_progress(torch::serialize::InputArchive& ar, const std::string& file, const std::string& fingerprint,
                         const char* what, int64_t& step, std::vector<uint32_t>& order) {
  c10::IValue v;
  ar.read("fingerprint", v);
  if (v.toStringRef() != fingerprint)
    throw InputError(file, "fingerprint",
                     fmt::format("the checkpoint belongs to another {}; start over without --resume", what));
  ar.read("epoch", v);
  const int epoch = int(v.toInt());
  ar.read("step", v);
  step = v.toInt();
  torch::Tensor o;
  ar.read("order", o, true);
  if (o.numel() != int64_t(order.size())) throw InputError(file, "order", "does not match the training set");
  std::memcpy(order.data(), o.contiguous().data_ptr<int32_t>(), order.size() * sizeof(uint32_t));
  return epoch;
}

}  // namespace xbarkit::train::checkpoint
