#include "devices/virtio_net.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace vmkit::devices {

using namespace virtio_net;

VirtioNet::VirtioNet(const MacAddress& mac) : mac_(mac) {
  std::memcpy(config_, mac_.data(), mac_.size());
  const uint16_t status = kSLinkUp;
  std::memcpy(config_ + 6, &status, 2);
}

void VirtioNet::read_config(uint32_t offset, uint8_t* out, unsigned size) {
  std::memcpy(out, config_ + offset, std::min<uint64_t>(size, sizeof config_ - offset));
}

void VirtioNet::queue_notify(unsigned queue, VirtQueue& q) {
  if (queue == kTransmitQueue) transmit(q);
  else if (queue == kReceiveQueue) deliver(q);  // new buffers: frames may have been waiting for them
}

void VirtioNet::poll(std::vector<VirtQueue>& queues) { deliver(queues[kReceiveQueue]); }

bool VirtioNet::has_host_work(std::vector<VirtQueue>& queues) {
  VirtQueue& rx = queues[kReceiveQueue];
  return has_pending_input() && rx.ready() && !rx.broken() && (held_rx_ || rx.has_available());
}

void VirtioNet::reset() { held_rx_.reset(); }

void VirtioNet::transmit(VirtQueue& tx) {
  VirtQueue::Chain c;
  while (tx.pop(c)) {
    // Linux sends the header and the frame in one buffer or two; any split is allowed (§5.1.6.2).
    if (c.readable_bytes < kHeaderBytes) {
      // As qemu does: a transmit buffer without a header is a broken driver, not a bad packet.
      tx.fail("virtio-net transmit chain " + std::to_string(c.head) + " is shorter than the " +
              std::to_string(kHeaderBytes) + "-byte virtio_net_hdr");
      return;
    }
    const uint64_t frame_len = c.readable_bytes - kHeaderBytes;
    if (frame_len == 0 || frame_len > kMaxFrameBytes) {
      tx_dropped_.add();
    } else {
      scratch_.resize(frame_len);
      tx.read(c, kHeaderBytes, scratch_.data(), frame_len);
      // The header asks for nothing: without CSUM or GSO negotiated, its flags and gso_type are 0.
      tx_frames_.add();
      tx_bytes_.add(frame_len);
      if (on_transmit) on_transmit(scratch_.data(), frame_len);
    }
    tx.push(c, 0);
  }
}

void VirtioNet::deliver(VirtQueue& rx) {
  if (held_rx_ && (!rx.ready() || rx.last_avail() != held_rx_avail_)) held_rx_.reset();
  if (!has_pending_input() || !rx.ready() || rx.broken()) return;
  // One zeroed header per buffer: no checksum or GSO information, and num_buffers 1 (the frame
  // fills one buffer; without MRG_RXBUF it never spans more).
  uint8_t header[kHeaderBytes] = {};
  const uint16_t num_buffers = 1;
  std::memcpy(header + kHeaderNumBuffers, &num_buffers, 2);

  std::lock_guard<std::mutex> lock(host_mu_);
  while (!host_frames_queue_.empty()) {
    if (!held_rx_) {
      VirtQueue::Chain c;
      if (!rx.pop(c)) break;
      held_rx_ = std::move(c);
      held_rx_avail_ = rx.last_avail();
    }
    VirtQueue::Chain& c = *held_rx_;
    std::vector<uint8_t> frame = std::move(host_frames_queue_.front());
    host_frames_queue_.pop_front();
    const uint64_t total = kHeaderBytes + frame.size();
    if (total > c.writable_bytes) {
      rx_dropped_too_big_.add();  // the buffer stays held for the next frame
      continue;
    }
    rx.write(c, 0, header, kHeaderBytes);
    rx.write(c, kHeaderBytes, frame.data(), frame.size());
    rx.push(c, static_cast<uint32_t>(total));
    held_rx_.reset();
    rx_frames_.add();
    rx_bytes_.add(frame.size());
  }
  host_frames_.store(host_frames_queue_.size(), std::memory_order_release);
}

void VirtioNet::receive(std::vector<uint8_t> frame) {
  if (frame.size() < kEthernetHeaderBytes || frame.size() > kMaxFrameBytes) {
    rx_dropped_malformed_.add();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(host_mu_);
    if (host_frames_queue_.size() >= kHostQueueFrames) {
      host_frames_queue_.pop_front();
      rx_dropped_overflow_.add();
    }
    host_frames_queue_.push_back(std::move(frame));
    host_frames_.store(host_frames_queue_.size(), std::memory_order_release);
  }
  if (on_input) on_input();
}

VirtioNet::Stats VirtioNet::stats() const {
  Stats s;
  s.tx_frames = tx_frames_.get();
  s.tx_bytes = tx_bytes_.get();
  s.tx_dropped = tx_dropped_.get();
  s.rx_frames = rx_frames_.get();
  s.rx_bytes = rx_bytes_.get();
  s.rx_dropped_overflow = rx_dropped_overflow_.get();
  s.rx_dropped_too_big = rx_dropped_too_big_.get();
  s.rx_dropped_malformed = rx_dropped_malformed_.get();
  return s;
}

}  // namespace vmkit::devices
