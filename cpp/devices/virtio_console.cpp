#include "devices/virtio_console.h"

#include <algorithm>
#include <cstring>

namespace vmkit::devices {

void VirtioConsole::read_config(uint32_t offset, uint8_t* out, unsigned size) {
  (void)offset;
  std::memset(out, 0, size);
}

void VirtioConsole::queue_notify(unsigned queue, VirtQueue& q) {
  if (queue == kTransmitQueue) transmit(q);
  else if (queue == kReceiveQueue) deliver(q);  // new buffers: input may have been waiting for them
}

void VirtioConsole::poll(std::vector<VirtQueue>& queues) { deliver(queues[kReceiveQueue]); }

bool VirtioConsole::has_host_work(std::vector<VirtQueue>& queues) {
  return has_pending_input() && queues[kReceiveQueue].has_available();
}

void VirtioConsole::transmit(VirtQueue& tx) {
  VirtQueue::Chain c;
  while (tx.pop(c)) {
    scratch_.resize(c.readable_bytes);
    const size_t n = tx.read(c, 0, scratch_.data(), scratch_.size());
    if (n && on_output) on_output(scratch_.data(), n);
    tx.push(c, 0);
  }
}

void VirtioConsole::deliver(VirtQueue& rx) {
  if (!has_pending_input() || !rx.ready()) return;
  std::lock_guard<std::mutex> lock(host_mu_);
  VirtQueue::Chain c;
  // Input first: a chain popped cannot be put back.
  while (!host_input_.empty() && rx.pop(c)) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(host_input_.size(), c.writable_bytes));
    scratch_.assign(host_input_.begin(), host_input_.begin() + static_cast<std::ptrdiff_t>(n));
    rx.write(c, 0, scratch_.data(), n);
    host_input_.erase(host_input_.begin(), host_input_.begin() + static_cast<std::ptrdiff_t>(n));
    rx.push(c, static_cast<uint32_t>(n));
  }
  host_count_.store(host_input_.size(), std::memory_order_release);
}

void VirtioConsole::receive(const uint8_t* data, size_t size) {
  if (size == 0) return;
  {
    std::lock_guard<std::mutex> lock(host_mu_);
    host_input_.insert(host_input_.end(), data, data + size);
    host_count_.store(host_input_.size(), std::memory_order_release);
  }
  if (on_input) on_input();
}

}  // namespace vmkit::devices
