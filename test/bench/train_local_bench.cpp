// Training on one process, no network: the Eigen + oneTBB trainer of compute/nn on
// Fashion-MNIST, epoch by epoch. The baseline the network's data-parallel training is
// measured against, and a check of the accuracy the model reaches.
//
// usage: train_local_bench [EPOCHS] [adam|sgd] [constant|cosine] [BATCH] [LR]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "compute/errc.hpp"
#include "compute/nn/train.hpp"

using namespace nexus;
using namespace nexus::compute::nn;

int main(int argc, char** argv) {
  train_config config;
  config.epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10;
  if (argc > 2)
    config.optimizer = parse_optimizer(argv[2]).value();
  if (argc > 3)
    config.schedule = parse_schedule(argv[3]).value();
  if (argc > 4)
    config.batch = std::strtoul(argv[4], nullptr, 10);
  if (argc > 5)
    config.lr = std::strtod(argv[5], nullptr);
  auto train = load_dataset("fashion-mnist");
  auto test = load_dataset("fashion-mnist:test");
  if (!train || !test) {
    std::printf("skipped: %s\n", describe(!train ? train.error() : test.error()).c_str());
    return 0;
  }
  auto model =
      mlp::initialized(parse_model_spec("mlp:784-256-128-10").value(), config.seed);
  std::printf("local training, mlp:784-256-128-10, %s, %s, batch %zu, lr %g\n",
              to_string(config.optimizer).c_str(), to_string(config.schedule).c_str(),
              config.batch, config.lr);
  double seconds = 0;
  double last = 0;
  train_local(model, *train, &*test, config, [&](const epoch_report& r) {
    std::printf("  epoch %2zu  loss %.4f  train %.4f  test %.4f  %.2f s\n", r.epoch, r.loss,
                r.train_accuracy, r.test_accuracy, r.seconds);
    std::fflush(stdout);
    seconds += r.seconds;
    last = r.test_accuracy;
  });
  std::printf("  %.2f s per epoch, test accuracy %.4f\n", seconds / config.epochs, last);
  return 0;
}
