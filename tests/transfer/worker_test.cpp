// SerialWorker (jobs/transfer/serial_worker.hpp): the copier's writer and
// read-back thread.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "jobs/transfer/serial_worker.hpp"

namespace beamflow::transfer::testing {
namespace {

// Jobs run one at a time, in the order posted, on the worker's thread.
TEST(SerialWorker, RunsJobsInOrderOnItsThread) {
  SerialWorker worker;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 5; ++i)
    worker.post([&, i] {
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  worker.wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (const auto& id : threads) EXPECT_NE(id, std::this_thread::get_id());
}

// The first job that throws drops the jobs queued behind it, unrun and
// destroyed (what they hold is released), and wait() reports its error
// once; the worker then runs new jobs again.
TEST(SerialWorker, DropsTheJobsBehindAFailureAndReportsItOnce) {
  SerialWorker worker;
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  const auto held = std::make_shared<int>(0);
  bool later_ran = false;
  worker.post([open] {
    open.wait();
    throw std::runtime_error("first");
  });
  worker.post([held, &later_ran] { later_ran = true; });
  worker.post([] { throw std::runtime_error("second"); });
  EXPECT_EQ(held.use_count(), 2) << "the queued job holds its capture";
  gate.set_value();
  try {
    worker.wait();
    ADD_FAILURE() << "wait() did not report the failure";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_FALSE(later_ran);
  EXPECT_EQ(held.use_count(), 1) << "a dropped job is destroyed before wait() returns";
  EXPECT_NO_THROW(worker.wait()) << "the error is reported once";
  bool ran = false;
  worker.post([&] { ran = true; });
  worker.wait();
  EXPECT_TRUE(ran);
}

// take_error() hands the error over without waiting, and clears it.
TEST(SerialWorker, TakeErrorReportsAndClears) {
  SerialWorker worker;
  EXPECT_FALSE(worker.take_error());
  std::promise<void> thrown;
  worker.post([&] {
    thrown.set_value();
    throw std::runtime_error("write failed");
  });
  thrown.get_future().wait();
  std::exception_ptr error;
  while (!(error = worker.take_error())) std::this_thread::yield();
  EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
  EXPECT_NO_THROW(worker.wait());
}

}  // namespace
}  // namespace beamflow::transfer::testing
