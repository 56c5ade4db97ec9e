#include "apps/nexus-shell/training_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "compute/errc.hpp"

namespace nexus::shell {

namespace {

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

error write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::trunc};
  out << text;
  out.flush();
  if (!out)
    return make_error(errc::unavailable, "cannot write " + path);
  return {};
}

// SVG polyline points of `ys` in a box, x spread evenly, y between lo and hi.
std::string points(const std::vector<double>& ys, double lo, double hi, double x0,
                   double y0, double w, double h) {
  std::ostringstream out;
  for (std::size_t i = 0; i < ys.size(); ++i) {
    double x = x0
               + (ys.size() == 1
                      ? w / 2
                      : w * static_cast<double>(i) / static_cast<double>(ys.size() - 1));
    double y = y0 + h - h * (ys[i] - lo) / std::max(hi - lo, 1e-12);
    out << fixed(x, 1) << "," << fixed(y, 1) << " ";
  }
  return out.str();
}

} // namespace

std::string sparkline(const std::vector<float>& raw) {
  static const char* bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  constexpr std::size_t width = 60; // characters at most: longer curves are averaged
  if (raw.empty())
    return "";
  std::vector<float> values;
  auto buckets = std::min(width, raw.size());
  for (std::size_t b = 0; b < buckets; ++b) {
    auto first = b * raw.size() / buckets;
    auto last = (b + 1) * raw.size() / buckets;
    float sum = 0;
    for (auto i = first; i < last; ++i)
      sum += raw[i];
    values.push_back(sum / static_cast<float>(last - first));
  }
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  std::string out;
  for (auto v : values) {
    auto level = *hi > *lo ? (v - *lo) / (*hi - *lo) : 0.5f;
    out += bars[std::clamp(static_cast<int>(std::lround(level * 7)), 0, 7)];
  }
  return out;
}

std::string epoch_line(const epoch_stats& e) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "epoch %3u  loss %.4f  train %.4f  test %s  %.2f s",
                e.epoch, e.loss, e.train_accuracy,
                e.test_accuracy >= 0 ? fixed(e.test_accuracy, 4).c_str() : "  -   ",
                e.seconds);
  return buf;
}

error write_history_csv(const std::string& path, const std::vector<epoch_stats>& epochs) {
  std::ostringstream out;
  out << "epoch,loss,train_accuracy,test_accuracy,seconds\n";
  for (const auto& e : epochs)
    out << e.epoch << "," << fixed(e.loss, 6) << "," << fixed(e.train_accuracy, 6) << ","
        << (e.test_accuracy >= 0 ? fixed(e.test_accuracy, 6) : "") << ","
        << fixed(e.seconds, 3) << "\n";
  return write_text(path, out.str());
}

error write_history_svg(const std::string& path, const std::string& title,
                        const std::vector<epoch_stats>& epochs,
                        const std::vector<float>& loss_curve) {
  constexpr double width = 880, height = 360, pad = 50, panel = 360;
  std::ostringstream out;
  out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='"
      << height << "' font-family='sans-serif' font-size='12'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << pad << "' y='24' font-size='15'>" << title << "</text>\n";
  // Left: the loss curve.
  std::vector<double> loss(loss_curve.begin(), loss_curve.end());
  double lo = 0, hi = loss.empty() ? 1 : *std::max_element(loss.begin(), loss.end());
  double x0 = pad, y0 = pad, w = panel, h = height - 2 * pad;
  out << "<rect x='" << x0 << "' y='" << y0 << "' width='" << w << "' height='" << h
      << "' fill='none' stroke='#999'/>\n"
      << "<text x='" << x0 << "' y='" << y0 - 8 << "'>training loss (0 to " << fixed(hi, 3)
      << ")</text>\n"
      << "<polyline fill='none' stroke='#c0392b' stroke-width='2' points='"
      << points(loss, lo, hi, x0, y0, w, h) << "'/>\n";
  // Right: accuracy per epoch.
  std::vector<double> train, test;
  for (const auto& e : epochs) {
    train.push_back(e.train_accuracy);
    if (e.test_accuracy >= 0)
      test.push_back(e.test_accuracy);
  }
  double alo = 1, ahi = 0;
  for (auto v : train)
    alo = std::min(alo, v), ahi = std::max(ahi, v);
  for (auto v : test)
    alo = std::min(alo, v), ahi = std::max(ahi, v);
  alo = std::floor(alo * 20) / 20;
  ahi = std::ceil(ahi * 20) / 20;
  x0 = 2 * pad + panel + 20;
  out << "<rect x='" << x0 << "' y='" << y0 << "' width='" << w << "' height='" << h
      << "' fill='none' stroke='#999'/>\n"
      << "<text x='" << x0 << "' y='" << y0 - 8 << "'>accuracy per epoch (" << fixed(alo, 2)
      << " to " << fixed(ahi, 2) << "): train blue, test green</text>\n"
      << "<polyline fill='none' stroke='#2471a3' stroke-width='2' points='"
      << points(train, alo, ahi, x0, y0, w, h) << "'/>\n"
      << "<polyline fill='none' stroke='#229954' stroke-width='2' points='"
      << points(test, alo, ahi, x0, y0, w, h) << "'/>\n"
      << "</svg>\n";
  return write_text(path, out.str());
}

} // namespace nexus::shell
