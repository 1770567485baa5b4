#pragma once
// Errors xbarkit reports to users. Every message names what to fix: the file, the key, the problem.
#include <stdexcept>
#include <string>

namespace xbarkit {

// Base of every error xbarkit throws on purpose; the CLI prints what() and exits non-zero.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Bad user input: a recipe, model file, weights file or dataset. The message reads
// "<file>: <key>: <problem>" so the user knows where to look.
class InputError : public Error {
public:
  InputError(const std::string& file, const std::string& key, const std::string& problem)
      : Error(compose(file, key, problem)), file_(file), key_(key) {}
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }

private:
  static std::string compose(const std::string& file, const std::string& key, const std::string& problem) {
    std::string msg = file.empty() ? std::string() : file + ": ";
    if (!key.empty()) msg += key + ": ";
    return msg + problem;
  }
  std::string file_, key_;
};

// A numerical engine failed (Newton did not converge, singular network, ngspice error).
class SolverError : public Error {
public:
  using Error::Error;
};

}  // namespace xbarkit
