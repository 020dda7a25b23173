// A virtio network card (virtio 1.1 §5.1, device id 1) with no offloads: queue 0 receives (host to
// guest), queue 1 transmits; no control queue, one queue pair. Offered features: MAC (the
// configured address, qemu's 52:54:00:12:34:56 by default) and STATUS (the link is always up). No
// CSUM, GSO or MRG_RXBUF, so each buffer is one struct virtio_net_hdr (the 12-byte version 1
// layout, num_buffers included) followed by one whole Ethernet frame without FCS, and the guest
// computes every checksum itself.
//
// Transmit: each chain the guest makes available in queue 1 has its frame (the bytes after the
// header) handed to on_transmit, on the CPU thread, inside the notify. Receive: receive() may be
// called from any thread (on_transmit included); frames wait in a bounded host queue and move into
// the guest's receive buffers in poll() and when the guest adds buffers. A network drops rather
// than waits, so a full queue drops its oldest frame and a frame bigger than the guest's buffer is
// dropped; both are counted.
//
// The back end is whatever connects on_transmit and receive(): the board, Python, or
// net_backend.h's ArpIcmpResponder.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "devices/virtio_mmio.h"

namespace vmkit::devices {

using MacAddress = std::array<uint8_t, 6>;

namespace virtio_net {
// Feature bits (§5.1.3).
constexpr uint64_t kFCsum = 1ull << 0, kFGuestCsum = 1ull << 1, kFMtu = 1ull << 3, kFMac = 1ull << 5,
                   kFGuestTso4 = 1ull << 7, kFMrgRxbuf = 1ull << 15, kFStatus = 1ull << 16,
                   kFCtrlVq = 1ull << 17, kFMq = 1ull << 22;
// virtio_net_config.status bits.
constexpr uint16_t kSLinkUp = 1;
// struct virtio_net_hdr as used when VIRTIO_F_VERSION_1 is negotiated: flags, gso_type, hdr_len,
// gso_size, csum_start, csum_offset and num_buffers.
constexpr size_t kHeaderBytes = 12;
constexpr size_t kHeaderNumBuffers = 10;  // offset of le16 num_buffers
// The shortest frame worth delivering: an Ethernet header (Linux drops anything shorter).
constexpr size_t kEthernetHeaderBytes = 14;
// The largest frame the device moves either way: a 64 KiB IP packet with its Ethernet header.
// Without GSO nothing legitimate comes close; the limit only keeps a broken guest or back end from
// making the host allocate without bound.
constexpr size_t kMaxFrameBytes = 65535 + kEthernetHeaderBytes;
constexpr MacAddress kDefaultMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};  // qemu's first NIC
}  // namespace virtio_net

class VirtioNet : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr unsigned kReceiveQueue = 0, kTransmitQueue = 1;
  // Frames received from the host and not yet delivered; a frame arriving when this many wait
  // pushes out the oldest.
  static constexpr size_t kHostQueueFrames = 256;

  explicit VirtioNet(const MacAddress& mac = virtio_net::kDefaultMac);
  VirtioNet(const VirtioNet&) = delete;
  VirtioNet& operator=(const VirtioNet&) = delete;

  const char* name() const override { return "virtio-net"; }
  uint32_t device_id() const override { return virtio::kDeviceNet; }
  uint64_t device_features() const override { return virtio_net::kFMac | virtio_net::kFStatus; }
  unsigned queue_count() const override { return 2; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  // struct virtio_net_config up to status: u8 mac[6], le16 status (the fields behind it belong to
  // features not offered).
  uint32_t config_size() const override { return sizeof config_; }
  void read_config(uint32_t offset, uint8_t* out, unsigned size) override;
  void queue_notify(unsigned queue, VirtQueue& q) override;
  void poll(std::vector<VirtQueue>& queues) override;
  bool has_host_work(std::vector<VirtQueue>& queues) override;
  // Drops the receive buffer the device held (the driver's reset took it back); frames from the
  // host stay queued, as they would on a wire.
  void reset() override;

  const MacAddress& mac() const { return mac_; }

  // Every frame the guest sends, without the virtio header (CPU thread). Unset: frames are dropped
  // (counted as transmitted: the wire took them).
  std::function<void(const uint8_t* frame, size_t len)> on_transmit;
  // Called on receive()'s thread after a frame was queued, so the machine can wake a hart sleeping
  // in WFI and get poll() called soon.
  std::function<void()> on_input;

  // A frame for the guest (any thread): a whole Ethernet frame without FCS. Frames shorter than an
  // Ethernet header or longer than kMaxFrameBytes are dropped (counted as malformed).
  void receive(std::vector<uint8_t> frame);
  void receive(const uint8_t* frame, size_t len) { receive(std::vector<uint8_t>(frame, frame + len)); }
  // Frames received from the host that have not reached the guest yet (any thread).
  bool has_pending_input() const { return host_frames_.load(std::memory_order_acquire) != 0; }

  // Counters (any thread). Bytes count frames, without the virtio header.
  struct Stats {
    uint64_t tx_frames = 0, tx_bytes = 0;
    uint64_t tx_dropped = 0;  // chains without a whole header, or with a frame past kMaxFrameBytes
    uint64_t rx_frames = 0, rx_bytes = 0;
    uint64_t rx_dropped_overflow = 0;  // pushed out of the full host queue
    uint64_t rx_dropped_too_big = 0;   // larger than the guest's receive buffer
    uint64_t rx_dropped_malformed = 0; // shorter than an Ethernet header or longer than kMaxFrameBytes
  };
  Stats stats() const;

 private:
  struct Counter {
    void add(uint64_t n = 1) { value.fetch_add(n, std::memory_order_relaxed); }
    uint64_t get() const { return value.load(std::memory_order_relaxed); }
    std::atomic<uint64_t> value{0};
  };

  void deliver(VirtQueue& rx);  // host frames into the guest's receive buffers while both last
  void transmit(VirtQueue& tx);

  MacAddress mac_;
  uint8_t config_[8] = {};

  mutable std::mutex host_mu_;
  std::deque<std::vector<uint8_t>> host_frames_queue_;  // guarded by host_mu_
  std::atomic<size_t> host_frames_{0};
  // A receive buffer taken from the ring whose frame turned out too big, kept for the next frame
  // (a chain cannot go back to the available ring, and handing it back empty would cost the guest
  // a refill). CPU thread only. held_rx_avail_ is the queue's last_avail() after the pop: if it
  // changed, the driver disabled and re-enabled the queue and the chain is no longer its.
  std::optional<VirtQueue::Chain> held_rx_;
  uint16_t held_rx_avail_ = 0;

  std::vector<uint8_t> scratch_;  // transmit's header and frame

  Counter tx_frames_, tx_bytes_, tx_dropped_, rx_frames_, rx_bytes_, rx_dropped_overflow_,
      rx_dropped_too_big_, rx_dropped_malformed_;
};

}  // namespace vmkit::devices
