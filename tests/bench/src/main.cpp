// ates-bench: the benchmarks (docs/performance.md), run as `ates bench …`.
// A program of its own, so that the server binary links none of them, nor
// the test fixtures and plugin internals they drive. Each prints figures
// and ratios; none passes or fails on time.
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "ates/bench/accounting_bench.hpp"
#include "ates/bench/analytics_bench.hpp"
#include "ates/bench/auth_bench.hpp"
#include "ates/bench/bus_bench.hpp"
#include "ates/bench/lifecycle_bench.hpp"
#include "ates/bench/startup_bench.hpp"
#include "ates/bench/storage_bench.hpp"
#include "ates/bench/tracker_bench.hpp"

using namespace ates;

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("ates-bench"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  CLI::App app{"ates bench: run a benchmark; prints figures and ratios"};
  app.name("ates bench");
  app.require_subcommand(1);

  bench::StorageBenchOptions storage_options;
  CLI::App* storage_bench =
      app.add_subcommand("storage", "durable units/s: one commit per unit, group commit, raw LMDB");
  storage_bench->add_flag("--full", storage_options.full, "run longer for steadier figures");
  storage_bench->add_option("--dir", storage_options.dir,
                            "where to put the environments (default: a temp dir)");
  storage_bench->callback([&] { bench::run_storage_bench(storage_options, std::cout); });
  bench::BusBenchOptions bus_options;
  CLI::App* bus_bench =
      app.add_subcommand("bus", "durable events/s and latency through the bus, with ceilings");
  bus_bench->add_flag("--full", bus_options.full, "run longer for steadier figures");
  bus_bench->add_option("--dir", bus_options.dir, "where to put the environments (default: a temp dir)");
  bus_bench->callback([&] { bench::run_bus_bench(bus_options, std::cout); });
  bench::AuthBenchOptions auth_options;
  CLI::App* auth_bench = app.add_subcommand("auth", "log-ins/s and verified requests/s against a bare route");
  auth_bench->add_flag("--full", auth_options.full, "run longer for steadier figures");
  auth_bench->add_option("--dir", auth_options.dir, "where to put the data (default: a temp dir)");
  auth_bench->callback([&] { bench::run_auth_bench(auth_options, std::cout); });
  bench::TrackerBenchOptions tracker_options;
  CLI::App* tracker_bench = app.add_subcommand(
      "tracker", "task creations/s, my tasks vs a bare route, shuffle time and the stall it causes");
  tracker_bench->add_flag("--full", tracker_options.full,
                          "shuffle 100 000 open tasks instead of 10 000, longer windows");
  tracker_bench->add_option("--dir", tracker_options.dir, "where to put the data (default: a temp dir)");
  tracker_bench->callback([&] { bench::run_tracker_bench(tracker_options, std::cout); });
  bench::AccountingBenchOptions accounting_options;
  CLI::App* accounting_bench = app.add_subcommand(
      "accounting",
      "tracker events applied/s by the ledger through the bus, and a day close of many accounts");
  accounting_bench->add_flag("--full", accounting_options.full,
                             "500 000 events and a close of 100 000 accounts instead of 100 000 and 20 000");
  accounting_bench->add_option("--dir", accounting_options.dir,
                               "where to put the data (default: a temp dir)");
  accounting_bench->callback([&] { bench::run_accounting_bench(accounting_options, std::cout); });
  bench::AnalyticsBenchOptions analytics_options;
  CLI::App* analytics_bench = app.add_subcommand(
      "analytics",
      "ledger entries ingested/s by analytics through the bus, and the most expensive task's latency");
  analytics_bench->add_flag(
      "--full", analytics_options.full,
      "1 000 000 events and a month of 1 000 000 completed tasks instead of 200 000 and 100 000");
  analytics_bench->add_option("--dir", analytics_options.dir, "where to put the data (default: a temp dir)");
  analytics_bench->callback([&] { bench::run_analytics_bench(analytics_options, std::cout); });

  bench::LifecycleBenchOptions lifecycle_options;
  CLI::App* lifecycle_bench = app.add_subcommand(
      "lifecycle", "create -> assign -> complete end to end with all four plugins, and the time to converge");
  lifecycle_bench->add_flag("--full", lifecycle_options.full,
                            "100 000 tasks by 1 000 workers instead of 10 000 by 100");
  lifecycle_bench->add_option("--dir", lifecycle_options.dir, "where to put the data (default: a temp dir)");
  lifecycle_bench->callback([&] { bench::run_lifecycle_bench(lifecycle_options, std::cout); });
  bench::StartupBenchOptions startup_options;
  CLI::App* startup_bench = app.add_subcommand(
      "startup", "exec of ates serve -> /readyz with four plugins, and RSS, over several runs");
  startup_bench->add_option("--runs", startup_options.runs, "starts of each kind (default 7)");
  startup_bench->callback([&] { bench::run_startup_bench(startup_options, std::cout); });

  CLI11_PARSE(app, argc, argv);
  return 0;
}
