// ates-lab: the demonstrations of docs/lab.md, run as `ates lab …`. A
// program of its own, so that the server binary links none of them. Each
// exits 0 when what it demonstrates held, 1 when it did not, 2 when it
// could not run.
#include <functional>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "lab.hpp"

using namespace ates;

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("ates-lab"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  CLI::App app{"ates lab: demonstrations of the asynchronous trade-offs (docs/lab.md)"};
  app.name("ates lab");
  app.require_subcommand(1);
  int exit_code = 0;
  const auto lab_run = [&](const std::function<int()>& run) {
    try {
      exit_code = run();
    } catch (const std::exception& e) {
      std::cout << std::flush;
      std::cerr << "ates lab: " << e.what() << "\n";
      exit_code = 2;
    }
  };
  lab::ChargeModesOptions charge_options;
  CLI::App* charge_lab = app.add_subcommand(
      "charge-modes",
      "the same workload in events and rpc charge mode, accounting stopped mid-run, side by side");
  charge_lab->add_option("--workers", charge_options.workers, "workers tasks go to")
      ->check(CLI::PositiveNumber);
  charge_lab->add_option("--clients", charge_options.clients, "concurrent HTTP clients")
      ->check(CLI::PositiveNumber);
  charge_lab->add_option("--rounds", charge_options.rounds, "rounds of creations, shuffles and completions")
      ->check(CLI::PositiveNumber);
  charge_lab->add_option("--tasks", charge_options.tasks_per_round, "creations per round")
      ->check(CLI::PositiveNumber);
  charge_lab->add_option("--shuffles", charge_options.shuffles_per_round, "shuffles per round");
  charge_lab->add_option("--outage-ms", charge_options.outage_ms, "how long accounting is stopped");
  charge_lab->add_option("--probe-ms", charge_options.probe_ms,
                         "creations tried while accounting is down, after the run");
  charge_lab->add_option("--seed", charge_options.seed, "the tracker's seed (task ids and assignments)");
  charge_lab->callback([&] { lab_run([&] { return lab::run_charge_modes(charge_options, std::cout); }); });
  app.add_subcommand("day-close-under-lag", "a day close that waits for a lagging stream; a forced close")
      ->callback([&] { lab_run([&] { return lab::run_day_close_under_lag(std::cout); }); });
  app.add_subcommand("dead-letter", "a poisoned event dead-lettered, inspected and re-driven")->callback([&] {
    lab_run([&] { return lab::run_dead_letter(std::cout); });
  });

  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
