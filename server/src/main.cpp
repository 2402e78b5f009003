// ates: the command line. Each sub-command is a thin layer over a module.
#include <iostream>

#include <CLI/CLI.hpp>

#include "ates/bench/storage_bench.hpp"
#include "ates/protocol/registry.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ates: the Awesome Task Exchange System of UberPopug Inc"};
  app.require_subcommand(1);

  CLI::App* events = app.add_subcommand("events", "inspect the event streams");
  events->require_subcommand(1);
  events->add_subcommand("catalog", "print every stream and event version of the registry (Markdown)")
      ->callback([] { std::cout << ates::protocol::Registry::instance().catalog(); });

  CLI::App* bench = app.add_subcommand("bench", "run a benchmark; prints figures and ratios");
  bench->require_subcommand(1);
  ates::bench::StorageBenchOptions storage_options;
  CLI::App* storage =
      bench->add_subcommand("storage", "durable units/s: one commit per unit, group commit, raw LMDB");
  storage->add_flag("--full", storage_options.full, "run longer for steadier figures");
  storage->add_option("--dir", storage_options.dir, "where to put the environments (default: a temp dir)");
  storage->callback([&] { ates::bench::run_storage_bench(storage_options, std::cout); });

  CLI11_PARSE(app, argc, argv);
  return 0;
}
