#include "ates/bench/bus_bench.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <iomanip>
#include <mutex>
#include <thread>

#include <zmq.hpp>

#include "ates/bench/storage_bench.hpp"
#include "ates/bus/bus.hpp"
#include "ates/protocol/events.hpp"
#include "ates/testing/temp_dir.hpp"

namespace ates::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;
using base::Status;

const std::string kUser = "22222222-2222-4222-8222-222222222222";

std::unique_ptr<storage::Environment> open_env(const std::filesystem::path& dir,
                                               const std::string& producer) {
  auto env = storage::Environment::open({.dir = dir, .producer = producer});
  if (!env) throw std::runtime_error(env.status().to_string());
  return std::move(env).value();
}

storage::Environment::Unit publish_unit() {
  return [](storage::WriteTxn& txn) {
    return txn
        .publish(protocol::TaskCreated{.task_id = protocol::make_uuid(txn.random()),
                                       .title = "benchmark task",
                                       .jira_id = {},
                                       .description = "",
                                       .created_by = kUser})
        .status();
  };
}

// A producer environment and a consumer environment joined by the bus:
// one bus (inproc) or two buses over tcp loopback with CurveZMQ.
struct Path {
  std::unique_ptr<storage::Environment> producer;
  std::unique_ptr<storage::Environment> consumer;
  std::unique_ptr<bus::Bus> producer_bus;
  std::unique_ptr<bus::Bus> consumer_bus;  // null when inproc
  // seq -> when its unit was submitted; filled by the producer side.
  std::mutex mutex;
  std::vector<SteadyClock::time_point> submitted;
  std::vector<double> latencies_ms;  // per event, when its consumer batch committed
  std::vector<std::uint64_t> applied_pending;
  std::atomic<std::uint64_t> applied{0};

  struct CommitTimer final : storage::CommitObserver {
    Path& path;
    explicit CommitTimer(Path& p) : path(p) {}
    void on_commit(const storage::CommitInfo&) override {
      const auto now = SteadyClock::now();
      std::lock_guard lock(path.mutex);
      for (std::uint64_t seq : path.applied_pending) {
        if (seq < path.submitted.size()) {
          path.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(now - path.submitted[seq]).count());
        }
        if (seq > path.applied.load()) path.applied.store(seq);
      }
      path.applied_pending.clear();
    }
  };
  std::unique_ptr<CommitTimer> timer;

  Path(const std::filesystem::path& dir, bool tcp) {
    producer = open_env(dir / "tracker", "tracker");
    if (!producer->declare_stream(protocol::kTasksStream)) throw std::runtime_error("declare");
    consumer = open_env(dir / "accounting", "accounting");
    bus::BusOptions options;
    if (tcp) {
      const auto server = bus::generate_curve_keys();
      const auto client = bus::generate_curve_keys();
      options = {
          .publish = "tcp://127.0.0.1:*",
          .replay = "tcp://127.0.0.1:*",
          .curve = {
              server.first, server.second, {{client.first, {std::string(protocol::kTasksStream)}, {}}}}};
      producer_bus = std::move(bus::Bus::start(options)).value();
      consumer_bus = std::move(bus::Bus::start({.publish = "inproc://c-pub",
                                                .replay = "inproc://c-replay",
                                                .peers = {{.publish = producer_bus->publish_endpoint(),
                                                           .replay = producer_bus->replay_endpoint(),
                                                           .key = server.first,
                                                           .streams = {std::string(protocol::kTasksStream)}}},
                                                .curve = {client.first, client.second, {}}}))
                         .value();
    } else {
      producer_bus = std::move(bus::Bus::start(options)).value();
    }
    producer_bus->add_producer(*producer);
    timer = std::make_unique<CommitTimer>(*this);
    consumer->add_observer(timer.get());
    bus::Bus& consuming = consumer_bus ? *consumer_bus : *producer_bus;
    storage::RawTable applied_table = consumer->raw_table("applied");
    const Status added =
        consuming.add_consumer({"accounting", std::string(protocol::kTasksStream), consumer.get(),
                                [this, applied_table](storage::WriteTxn& txn, const protocol::Envelope& e) {
                                  applied_table.put(txn, e.event_id, "");
                                  std::lock_guard lock(mutex);
                                  applied_pending.push_back(e.seq);
                                  return Status::ok();
                                }});
    if (!added) throw std::runtime_error(added.to_string());
    // Warm up: one event end to end, so the consumer is subscribed and has
    // made its first FETCH before anything is measured.
    if (!producer->run(publish_unit())) throw std::runtime_error("warm-up publish failed");
    if (!wait_applied(1, std::chrono::seconds(30))) throw std::runtime_error("warm-up event never arrived");
  }

  ~Path() {
    consumer_bus.reset();
    producer_bus.reset();
    consumer->remove_observer(timer.get());
  }

  void mark_submitted(std::uint64_t seq) {
    std::lock_guard lock(mutex);
    if (submitted.size() <= seq) submitted.resize(seq + 1);
    submitted[seq] = SteadyClock::now();
  }

  bool wait_applied(std::uint64_t seq, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (applied.load() < seq) {
      if (SteadyClock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }
};

// Events/s from the first submit until the consumer has applied all that
// were produced in `duration`, with 64 units in flight.
double throughput(const std::filesystem::path& dir, bool tcp, std::chrono::milliseconds duration) {
  Path path(dir, tcp);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> produced{0};
  std::atomic<int> chains{64};
  std::mutex done_mutex;
  std::condition_variable done;
  std::function<void()> next = [&] {
    path.producer->submit(publish_unit(), [&](Status status) {
      if (status) produced.fetch_add(1);
      if (!stop.load()) return next();
      std::lock_guard lock(done_mutex);
      if (--chains == 0) done.notify_all();
    });
  };
  const auto start = SteadyClock::now();
  for (int i = 0; i < 64; ++i) next();
  std::this_thread::sleep_for(duration);  // the measuring window
  stop = true;
  {
    std::unique_lock lock(done_mutex);
    done.wait(lock, [&] { return chains.load() == 0; });
  }
  if (!path.wait_applied(produced.load() + 1, std::chrono::seconds(60)))
    throw std::runtime_error("consumer fell behind");
  return static_cast<double>(produced.load()) /
         std::chrono::duration<double>(SteadyClock::now() - start).count();
}

struct Latency {
  double p50 = 0, p99 = 0, p999 = 0;
  std::size_t samples = 0;
};

// One event per millisecond; the latency of each from its submit to the
// commit of the consumer batch that applied it.
Latency latency(const std::filesystem::path& dir, bool tcp, std::chrono::milliseconds duration) {
  Path path(dir, tcp);
  const auto start = SteadyClock::now();
  std::uint64_t seq = 1;  // the warm-up event
  std::vector<std::future<Status>> pending;
  for (auto next = start; next < start + duration; next += std::chrono::milliseconds(1)) {
    std::this_thread::sleep_until(next);  // pacing at 1 000 events/s
    path.mark_submitted(++seq);
    pending.push_back(path.producer->submit(publish_unit()));
  }
  for (auto& f : pending) {
    if (const Status published = f.get(); !published)
      throw std::runtime_error("bench bus: a publish failed: " + published.to_string());
  }
  path.wait_applied(seq, std::chrono::seconds(30));
  std::vector<double> samples;
  {
    std::lock_guard lock(path.mutex);
    samples = path.latencies_ms;
  }
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples.empty()
               ? 0
               : samples[std::min(samples.size() - 1, static_cast<std::size_t>(q * samples.size()))];
  };
  return {at(0.50), at(0.99), at(0.999), samples.size()};
}

// Raw PUB→SUB messages/s at the envelope's size, no HWM.
double raw_zmq(const std::string& endpoint, std::size_t size, std::size_t count) {
  zmq::context_t context(1);
  zmq::socket_t pub(context, zmq::socket_type::pub);
  zmq::socket_t sub(context, zmq::socket_type::sub);
  pub.set(zmq::sockopt::sndhwm, 0);
  sub.set(zmq::sockopt::rcvhwm, 0);
  pub.bind(endpoint);
  const std::string bound = pub.get(zmq::sockopt::last_endpoint);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(bound);
  // Subscribe-then-confirm: probe until a message arrives.
  for (;;) {
    pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
    zmq::message_t probe;
    if (sub.recv(probe, zmq::recv_flags::dontwait)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  zmq::message_t drain;
  while (sub.recv(drain, zmq::recv_flags::dontwait)) {
  }
  const std::string body(size, 'e');
  const auto start = SteadyClock::now();
  std::thread sender([&] {
    for (std::size_t i = 0; i < count; ++i) {
      pub.send(zmq::str_buffer("tracker.tasks"), zmq::send_flags::sndmore);
      pub.send(zmq::buffer(body), zmq::send_flags::none);
    }
  });
  for (std::size_t i = 0; i < count; ++i) {
    zmq::message_t topic, message;
    (void)sub.recv(topic);
    (void)sub.recv(message);
  }
  sender.join();
  return static_cast<double>(count) / std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

void run_bus_bench(const BusBenchOptions& options, std::ostream& out) {
  testing::TempDir temp("ates-bench-bus");
  const std::filesystem::path root = options.dir.empty() ? temp.path() : std::filesystem::path(options.dir);
  const std::chrono::milliseconds window(options.full ? 8000 : 2500);
  int scenario = 0;
  auto fresh = [&] { return root / ("scenario-" + std::to_string(++scenario)); };
  const std::size_t envelope_size =
      protocol::encode_envelope(protocol::Envelope{.event_id = std::string(36, '0'),
                                                   .name = "TaskCreated",
                                                   .version = 2,
                                                   .producer = "tracker",
                                                   .stream = "tracker.tasks",
                                                   .stream_epoch = std::string(36, '0'),
                                                   .seq = 1,
                                                   .time_us = 1,
                                                   .trace_id = "",
                                                   .payload = protocol::encode_payload(
                                                       protocol::TaskCreated{.task_id = std::string(36, '0'),
                                                                             .title = "benchmark task",
                                                                             .jira_id = {},
                                                                             .description = "",
                                                                             .created_by = kUser})})
          .size();

  out << std::fixed << std::setprecision(0);
  out << "ates bench bus: durable events (" << envelope_size
      << "-byte envelopes), append -> applied by a consumer "
      << "in another environment, full fsync on both sides; " << window.count() << " ms windows\n\n";

  const double ceiling = group_commit_units_per_second(fresh(), 64, window);
  const double zmq_inproc = raw_zmq("inproc://raw", envelope_size, options.full ? 2'000'000 : 500'000);
  const double zmq_tcp = raw_zmq("tcp://127.0.0.1:*", envelope_size, options.full ? 2'000'000 : 500'000);
  const double inproc = throughput(fresh(), false, window);
  const double tcp = throughput(fresh(), true, window);
  const Latency inproc_latency = latency(fresh(), false, window);
  const Latency tcp_latency = latency(fresh(), true, window);

  out << "ceilings measured in this run:\n"
      << "  LMDB group commit, 64 in flight:     " << std::setw(10) << ceiling << " units/s\n"
      << "  raw ZeroMQ PUB/SUB inproc:           " << std::setw(10) << zmq_inproc << " messages/s\n"
      << "  raw ZeroMQ PUB/SUB tcp loopback:     " << std::setw(10) << zmq_tcp << " messages/s\n\n"
      << "durable events/s, 64 in flight:\n"
      << "  inproc:        " << std::setw(10) << inproc << "   " << std::setprecision(0)
      << 100 * inproc / ceiling << "% of the LMDB ceiling (target >= 50%), " << std::setprecision(2)
      << 100 * inproc / zmq_inproc << "% of raw ZeroMQ\n"
      << std::setprecision(0) << "  tcp + Curve:   " << std::setw(10) << tcp << "   " << 100 * tcp / ceiling
      << "% of the LMDB ceiling (target >= 50%), " << std::setprecision(2) << 100 * tcp / zmq_tcp
      << "% of raw ZeroMQ\n\n";
  out << std::setprecision(2) << "latency at 1 000 events/s, submit -> consumer commit (ms):\n"
      << "  inproc:       p50 " << inproc_latency.p50 << "  p99 " << inproc_latency.p99 << "  p99.9 "
      << inproc_latency.p999 << "  (" << inproc_latency.samples << " events; target p99 <= 2 ms)\n"
      << "  tcp + Curve:  p50 " << tcp_latency.p50 << "  p99 " << tcp_latency.p99 << "  p99.9 "
      << tcp_latency.p999 << "  (" << tcp_latency.samples << " events; target p99 <= 5 ms)\n";
}

}  // namespace ates::bench
