// A virtio console (virtio 1.1 §5.3, device id 3) with a single port and no optional features (no
// MULTIPORT, SIZE or EMERG_WRITE): queue 0 receives (host to guest), queue 1 transmits. Linux
// makes it /dev/hvc0.
//
// Transmit: the bytes of every chain the guest makes available in queue 1 go to on_output, on the
// CPU thread, inside the notify. Receive: receive() may be called from any thread; the bytes wait
// in an unbounded host buffer and move into the guest's receive buffers in poll() (and when the
// guest adds buffers), so input is never dropped, however slowly the guest reads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "devices/virtio_mmio.h"

namespace vmkit::devices {

class VirtioConsole : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 128;
  static constexpr unsigned kReceiveQueue = 0, kTransmitQueue = 1;

  VirtioConsole() = default;
  VirtioConsole(const VirtioConsole&) = delete;
  VirtioConsole& operator=(const VirtioConsole&) = delete;

  const char* name() const override { return "virtio-console"; }
  uint32_t device_id() const override { return virtio::kDeviceConsole; }
  uint64_t device_features() const override { return 0; }
  unsigned queue_count() const override { return 2; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  // struct virtio_console_config: le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr; all 0
  // (none of the features that give them meaning is offered).
  uint32_t config_size() const override { return 12; }
  void read_config(uint32_t offset, uint8_t* out, unsigned size) override;
  void queue_notify(unsigned queue, VirtQueue& q) override;
  void poll(std::vector<VirtQueue>& queues) override;
  bool has_host_work(std::vector<VirtQueue>& queues) override;

  // What the guest writes (CPU thread). Unset: output is dropped.
  std::function<void(const uint8_t*, size_t)> on_output;
  // Called on receive()'s thread after bytes were queued, so the machine can wake a hart sleeping
  // in WFI and get poll() called soon.
  std::function<void()> on_input;

  // Host input (any thread).
  void receive(const uint8_t* data, size_t size);
  // Bytes received from the host that have not reached the guest yet (any thread).
  bool has_pending_input() const { return host_count_.load(std::memory_order_acquire) != 0; }

 private:
  void deliver(VirtQueue& rx);  // host bytes into the guest's receive buffers while both last
  void transmit(VirtQueue& tx);

  mutable std::mutex host_mu_;
  std::deque<uint8_t> host_input_;  // guarded by host_mu_
  std::atomic<size_t> host_count_{0};
  std::vector<uint8_t> scratch_;
};

}  // namespace vmkit::devices
