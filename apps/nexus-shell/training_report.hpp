// How the shell shows and keeps a training run's history: a sparkline for `status`, a
// line per epoch, and the CSV and SVG files written beside the model.
#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "messages/types.hpp"

namespace nexus::shell {

/// "▇▆▄▃▂▂▁▁" from values (scaled between their minimum and maximum), at most 60
/// characters: longer series are averaged in stretches.
std::string sparkline(const std::vector<float>& values);

/// "epoch  3  loss 0.3474  train 0.8746  test 0.8660  1.63 s"
std::string epoch_line(const epoch_stats& e);

/// epoch,loss,train_accuracy,test_accuracy,seconds (test empty when not measured).
error write_history_csv(const std::string& path, const std::vector<epoch_stats>& epochs);

/// Two panels: the loss curve, and train and test accuracy per epoch.
error write_history_svg(const std::string& path, const std::string& title,
                        const std::vector<epoch_stats>& epochs,
                        const std::vector<float>& loss_curve);

} // namespace nexus::shell
