// nexus-shell's commands: parsing a line into a command and carrying it out through a
// client. Separate from main.cpp so tests can drive the shell without a terminal.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "actors/runtime/client.hpp"
#include "compute/nn/model.hpp"

namespace nexus::shell {

/// A line split into words and --flags. `--name value` and `--name=value` both work;
/// flags that take no value are listed per command.
struct command_line {
  std::vector<std::string> words;           // command, subcommand, positional args
  std::map<std::string, std::string> flags; // without the leading "--"
};

/// Splits a line, honouring single and double quotes. Errors on an unclosed quote.
expected<command_line> tokenize(std::string_view line);

class session {
public:
  /// `interactive`: draw progress bars (standard output is a terminal).
  session(client& api, std::ostream& out, bool interactive);

  /// Runs one line. Returns none on success; the error's text is what the user sees
  /// after "error: ".
  error execute(std::string_view line);

  /// True after `quit`.
  bool finished() const noexcept {
    return finished_;
  }

private:
  error submit(const command_line& cmd);
  error submit_train(const command_line& cmd); // ai_commands.cpp
  error submit_infer(const command_line& cmd); // ai_commands.cpp
  error follow_training(uint64_t task_id, const std::string& out_path,
                        const compute::nn::model_spec& spec,
                        const compute::nn::dataset& trained_on);
  error status(const command_line& cmd);
  error cancel(const command_line& cmd);
  error tasks();
  error nodes();
  error result(const command_line& cmd);
  error wait(const command_line& cmd);
  error ledger(const command_line& cmd);
  error govern(const command_line& cmd); // ledger govern FILE
  error follow(uint64_t task_id, const std::string& out_path);
  // Waits with a progress bar, prints the summary; an error unless the task is done.
  expected<task_report> await_done(uint64_t task_id);
  error save_output(uint64_t task_id, const std::string& path);
  void help();

  client& api_;
  std::ostream& out_;
  bool interactive_;
  bool finished_ = false;
};

} // namespace nexus::shell
