// Defect 9 (second half): a killed training lost everything. train writes OUTPUT.checkpoint after
// every epoch; --resume continues from it and ends with the weights of an uninterrupted run.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "util.hpp"
#include "xbarkit/nn/safetensors.hpp"

using namespace rel;

namespace {

// The MLP on the first 3000 Fashion-MNIST training images: about a second per epoch on 2 cores.
std::vector<std::string> train_args(const fs::path& out, bool resume) {
  std::vector<std::string> a{"train", source_dir() + "/models/networks/bnn_mlp.toml", "-o", out.string(),
                             "--train-images", "3000", "--epochs", "4", "--no-test", "--threads", "2"};
  if (resume) a.push_back("--resume");
  return a;
}

pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(XBARKIT_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(XBARKIT_CLI, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string args_line(const std::vector<std::string>& a) {
  std::string s;
  for (size_t i = 1; i < a.size(); ++i) s += (i > 1 ? " " : "") + a[i];
  return a[0] + " " + s;
}

}  // namespace

TEST_CASE("train: killed after an epoch, --resume gives the weights of an uninterrupted run", "[reliability][train]") {
  const auto dir = scratch("train_resume");
  const fs::path straight = dir / "straight.safetensors", killed = dir / "killed.safetensors";
  REQUIRE(wait_for(spawn(train_args(straight, false), dir / "log_straight")) == 0);
  CHECK_FALSE(fs::exists(straight.string() + ".checkpoint"));  // removed once the weights are written

  const pid_t pid = spawn(train_args(killed, false), dir / "log_killed");
  const fs::path ckpt = killed.string() + ".checkpoint";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(50);
  while (!fs::exists(ckpt) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  const int code = wait_for(pid);
  INFO(read(dir / "log_killed"));
  REQUIRE(code == 128 + SIGKILL);  // killed mid-training, with a checkpoint
  REQUIRE(fs::exists(ckpt));
  REQUIRE_FALSE(fs::exists(killed));

  fs::copy_file(ckpt, dir / "saved.checkpoint");
  const auto r = cli(args_line(train_args(killed, true)), 120);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("resuming after epoch"));
  const auto a = xbarkit::nn::read_safetensors(straight), b = xbarkit::nn::read_safetensors(killed);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    REQUIRE(b.tensors.count(name));
    CHECK(t.data == b.tensors.at(name).data);  // bit-identical tensors; only train_seconds may differ
  }
  CHECK_FALSE(fs::exists(ckpt));
  // --resume without a checkpoint, and with the checkpoint of another configuration (5 epochs).
  auto r2 = cli(args_line(train_args(killed, true)), 60);
  CHECK(r2.code == 1);
  CHECK_THAT(r2.out, Catch::Contains("no checkpoint to resume from"));
  fs::copy_file(dir / "saved.checkpoint", ckpt);
  auto other = train_args(killed, true);
  other[7] = "5";  // --epochs 5
  r2 = cli(args_line(other), 60);
  INFO(r2.out);
  CHECK(r2.code == 1);
  CHECK_THAT(r2.out, Catch::Contains(ckpt.string()) && Catch::Contains("another architecture, training configuration"));
  fs::remove_all(dir);
}
